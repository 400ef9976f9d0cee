package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.DecoderWeights;
import dev.glimpse.vlmruntime.decoder.LayerWeights;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fused prefill projections on CUDA ({@code -Dglimpse.cuda.fusedProjections}): q/k/v (or k/v with
 * grouped-query attention) and gate/up uploaded as one concatenation each and run as one batched
 * product give the logits of the separate uploads and products, within the bound of two GEMM
 * algorithms' summation orders ({@value #FUSED_VS_SEPARATE} of the largest logit: a different k
 * order flips a few bf16 roundings of the next layer's input), after a prefill of more than 8 rows
 * (the GEMM path) and after decode
 * steps (whose fused GEMVs read the views). The tiny fixtures use grouped-query attention, so a
 * synthetic multi-head BF16 Llama with attention biases covers the three-way q/k/v stack and its
 * bias stack; it is also compared with the CPU.
 */
class CudaFusedProjectionsTest {

    /** Largest |fused - separate| logit difference, relative to the largest |logit|. */
    private static final float FUSED_VS_SEPARATE = 0.01f;
    /** Largest |CUDA - CPU| difference relative to the largest |logit|: CUDA rounds GEMM inputs to bf16, the CPU does not. */
    private static final float CUDA_VS_CPU_BF16 = 0.05f;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void fusedProjectionsGiveTheSeparateLogits(String fixture) throws IOException {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(fixture);
        int[] ids = ints(new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("input_ids"));
        compare(folder, ids, false);
    }

    @Test
    void multiHeadAttentionStacksQkvWithBiases() {
        CudaSupport.requireCuda();
        Path folder = multiHeadCheckpoint();
        int[] ids = new int[40];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 5) % 128;
        }
        float[][] cuda = compare(folder, ids, true);
        float[][] cpu;
        try (Backend backend = new CpuBackend()) {
            cpu = run(backend, folder, ids);
        }
        for (int i = 0; i < cpu.length; i++) {
            float d = relative(cuda[i], cpu[i]);
            System.out.printf("GPU-PARITY fused-projections MHA step %d: max|cuda-cpu| / max|cpu| %.3g%n", i, d);
            assertTrue(d <= CUDA_VS_CPU_BF16, "fused CUDA vs CPU, step " + i + ": " + d);
        }
    }

    /** Runs {@code folder} on CUDA fused and separate, checks the stacks exist and the logits agree; returns the fused logits. */
    private static float[][] compare(Path folder, int[] ids, boolean qkvStack) {
        float[][] fused = withFusedProjections("true", folder, ids, qkvStack);
        float[][] separate = withFusedProjections("false", folder, ids, qkvStack);
        for (int i = 0; i < fused.length; i++) {
            float d = relative(fused[i], separate[i]);
            System.out.printf("GPU-PARITY fused-projections %s step %d: max|fused-separate| / max|separate| %.3g%n",
                    folder.getFileName(), i, d);
            assertTrue(d <= FUSED_VS_SEPARATE, folder.getFileName() + " step " + i + ": fused vs separate logits differ by " + d);
        }
        return fused;
    }

    /** max |a - b| over max |b|. */
    private static float relative(float[] a, float[] b) {
        float largest = 0;
        for (float v : b) {
            largest = Math.max(largest, Math.abs(v));
        }
        return maxAbsDiff(a, b) / Math.max(largest, 1e-6f);
    }

    /**
     * Runs with the projections fused or not, both with F32 gate/up ({@code -Dglimpse.cuda.mlp16=false}):
     * the 16-bit MLP needs the stacked gate/up, so leaving it on would compare two roundings of the MLP
     * (HF's and F32's) rather than two layouts of the same products.
     */
    private static float[][] withFusedProjections(String value, Path folder, int[] ids, boolean qkvStack) {
        String previous = System.getProperty(DecoderWeights.FUSED_PROJECTIONS_PROPERTY);
        String previousMlp16 = System.getProperty(CudaBackend.MLP16_PROPERTY);
        System.setProperty(DecoderWeights.FUSED_PROJECTIONS_PROPERTY, value);
        System.setProperty(CudaBackend.MLP16_PROPERTY, "false");
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            return run(backend, folder, ids, value.equals("true"), qkvStack);
        } finally {
            restore(DecoderWeights.FUSED_PROJECTIONS_PROPERTY, previous);
            restore(CudaBackend.MLP16_PROPERTY, previousMlp16);
        }
    }

    private static void restore(String property, String previous) {
        if (previous == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, previous);
        }
    }

    private static float[][] run(Backend backend, Path folder, int[] ids) {
        return run(backend, folder, ids, false, false);
    }

    /** Logits after prefilling all ids but the last two, then after decoding each of those. */
    private static float[][] run(Backend backend, Path folder, int[] ids, boolean expectStacks, boolean qkvStack) {
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            LayerWeights layer = decoder.weights().layers().getFirst();
            if (expectStacks) {
                assertNotNull(layer.stacks(), "fused projections on: the layer has stacks");
                assertNotNull(layer.stacks().gateUp(), "gate/up stack");
                assertNotNull(qkvStack ? layer.stacks().qkv() : layer.stacks().kv(), qkvStack ? "q/k/v stack" : "k/v stack");
            } else {
                assertNull(layer.stacks(), "fused projections off or on the CPU: no stacks");
            }
            int vocab = decoder.config().vocabSize();
            float[][] logits = new float[3][vocab];
            session.prefill(java.util.Arrays.copyOf(ids, ids.length - 2));
            session.copyLogits(logits[0]);
            for (int i = 1; i <= 2; i++) {
                session.decode(ids[ids.length - 3 + i]);
                session.copyLogits(logits[i]);
            }
            assertEquals(3, logits.length);
            return logits;
        }
    }

    /**
     * A 2-layer BF16 Llama with 4 heads and 4 kv heads of 64 (q, k, v all 256 wide), attention
     * biases (q/k/v/o) and random weights, written to the temp folder.
     */
    private Path multiHeadCheckpoint() {
        return SyntheticDecoders.write(dir, "mha-llama-bf16", "llama", 7, 256);
    }
}
