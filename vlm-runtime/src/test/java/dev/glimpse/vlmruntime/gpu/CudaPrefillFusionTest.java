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
import dev.glimpse.vlmruntime.decoder.KvCache;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused prefill ops ({@code -Dglimpse.cuda.prefillFusion=true}: RoPE with the KV cache append in
 * one launch, o_proj adding the residual itself, the gated activation four elements per thread)
 * against the unfused prefill, on one CUDA backend (so both run the same cuBLASLt choices), each
 * run a prefill then two decode steps (which read the cache the prefill wrote):
 * <ul>
 *   <li>with the GEMM epilogues off ({@code -Dglimpse.cuda.gemmEpilogues=false}, o_proj's add then a
 *   separate add as before) the logits are bit-identical (fixtures with a BF16 and an F32 cache);</li>
 *   <li>with the residual in o_proj's epilogue (the default epilogues) they stay within
 *   {@value #FUSED_VS_UNFUSED} of the largest logit (another GEMM algorithm may sum in another
 *   order, flipping a few bf16 roundings of the next layer's input).</li>
 * </ul>
 * On the bf16 fixtures and on synthetic BF16 models at the LLaVA-1.5-7B prompt sizes (74 rows: 64
 * visual tokens kept by VTC-CLS plus text; 586: the full image): a multi-head Llama with biases on
 * q, k, v and o, and a grouped-query Qwen2 (q/k/v biases); the fused run is also compared with the
 * CPU backend (whose o_proj then runs linear and add, the same bits as before).
 */
class CudaPrefillFusionTest {

    /** Largest |fused - unfused| logit difference over the largest |logit| with the residual epilogue. */
    private static final float FUSED_VS_UNFUSED = 0.01f;
    /** Largest |CUDA - CPU| difference over the largest |logit|: CUDA rounds GEMM inputs to bf16, the CPU does not. */
    private static final float CUDA_VS_CPU_BF16 = 0.05f;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} cache={1}")
    @CsvSource({"decoder-llama-bf16, auto", "decoder-llama-bf16, f32", "decoder-qwen2-bf16, auto",
            "decoder-qwen2-bf16, f32"})
    void fixturePrefillMatchesTheUnfusedPrefill(String fixture, String cacheMode) throws IOException {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(fixture);
        int[] ids = ints(new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("input_ids"));
        Comparison c = compareOnCuda(folder, ids, cacheMode);
        assertBitIdentical(fixture + " " + cacheMode, c.withoutEpilogues());
        assertWithinBounds(fixture + " " + cacheMode, c.withEpilogues());
    }

    @ParameterizedTest(name = "{0} rows={1}")
    @CsvSource({"llama, 74", "llama, 586", "qwen2, 74", "qwen2, 586"})
    void promptSizedPrefillMatchesTheUnfusedOpsAndTheCpu(String family, int rows) {
        CudaSupport.requireCuda();
        Path folder = checkpoint(family);
        int[] ids = new int[rows + 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 5) % SyntheticDecoders.VOCAB;
        }
        String label = family + "-" + rows;
        Comparison c = compareOnCuda(folder, ids, "auto");
        assertBitIdentical(label, c.withoutEpilogues());
        assertWithinBounds(label, c.withEpilogues());
        float[][] cpu = withProperty(CudaBackend.PREFILL_FUSION_PROPERTY, "true", () -> {
            try (Backend backend = new CpuBackend()) {
                return run(backend, folder, ids);
            }
        });
        for (int i = 0; i < cpu.length; i++) {
            float d = relative(c.withEpilogues().fused[i], cpu[i]);
            System.out.printf("GPU-PARITY prefill-fusion %s step %d: max|cuda fused - cpu| / max|cpu| %.3g%n", label, i, d);
            assertTrue(d <= CUDA_VS_CPU_BF16, label + " fused CUDA vs CPU, step " + i + ": " + d);
        }
    }

    /** Logits of the unfused and the fused prefill (then two decode steps each). */
    private record Runs(float[][] unfused, float[][] fused) {
    }

    /** {@link Runs} with the GEMM epilogues off and with the default epilogues, on one backend. */
    private record Comparison(Runs withoutEpilogues, Runs withEpilogues) {
    }

    private static void assertBitIdentical(String label, Runs runs) {
        for (int i = 0; i < runs.fused.length; i++) {
            System.out.printf("GPU-PARITY prefill-fusion %s no epilogues step %d: max|fused-unfused| %.3g%n", label, i,
                    maxAbsDiff(runs.fused[i], runs.unfused[i]));
            assertArrayEquals(runs.unfused[i], runs.fused[i], label + " step " + i + ": fused prefill without GEMM epilogues");
        }
    }

    private static void assertWithinBounds(String label, Runs runs) {
        for (int i = 0; i < runs.fused.length; i++) {
            float d = relative(runs.fused[i], runs.unfused[i]);
            System.out.printf("GPU-PARITY prefill-fusion %s step %d: max|fused-unfused| / max|unfused| %.3g%n", label, i, d);
            assertTrue(d <= FUSED_VS_UNFUSED, label + " step " + i + ": fused vs unfused logits differ by " + d);
        }
    }

    /**
     * One CUDA backend, the KV cache type from {@code cacheMode}: a session unfused, then one fused,
     * first with the GEMM epilogues off, then with the default epilogues.
     */
    private static Comparison compareOnCuda(Path folder, int[] ids, String cacheMode) {
        return withProperty(KvCache.DTYPE_PROPERTY, cacheMode, () -> {
            try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
                Runs without = withProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY, "false", () -> runs(backend, folder, ids));
                return new Comparison(without, runs(backend, folder, ids));
            }
        });
    }

    /** An unfused then a fused session on {@code backend}. */
    private static Runs runs(Backend backend, Path folder, int[] ids) {
        float[][] unfused = withProperty(CudaBackend.PREFILL_FUSION_PROPERTY, "false", () -> run(backend, folder, ids));
        float[][] fused = withProperty(CudaBackend.PREFILL_FUSION_PROPERTY, "true", () -> run(backend, folder, ids));
        return new Runs(unfused, fused);
    }

    /** Logits after prefilling all ids but the last two, then after decoding each of those. */
    private static float[][] run(Backend backend, Path folder, int[] ids) {
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(ids.length + 8))) {
            float[][] logits = new float[3][decoder.config().vocabSize()];
            session.prefill(Arrays.copyOf(ids, ids.length - 2));
            session.copyLogits(logits[0]);
            for (int i = 1; i <= 2; i++) {
                session.decode(ids[ids.length - 3 + i]);
                session.copyLogits(logits[i]);
            }
            assertEquals(ids.length, session.length(), "tokens in the session");
            return logits;
        }
    }

    private interface Body<T> {
        T run();
    }

    /** Runs {@code body} with {@code -Dkey=value}, restoring the previous value after. */
    private static <T> T withProperty(String key, String value, Body<T> body) {
        String previous = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return body.run();
        } finally {
            if (previous == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, previous);
            }
        }
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
     * A 2-layer BF16 model with random weights, written to the temp folder: {@code llama}, 4 heads
     * and 4 kv heads of 64 with biases on q, k, v and o; {@code qwen2}, 4 heads over 2 kv heads of
     * 64 with biases on q, k and v.
     */
    private Path checkpoint(String family) {
        return SyntheticDecoders.write(dir, family + "-bf16", family, 11, 1024);
    }
}
