package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA decode step with the fused decode ops ({@code -Dglimpse.cuda.fusedDecode}, default on)
 * and without gives the same greedy tokens and logits within 1e-4 relative (the fused q/k/v GEMV
 * may order F32 sums differently), across a second prefill. The bf16 fixtures have 16-bit
 * weights, so their replayed steps run the fused kernels; every step is graph-replayed (the
 * first of a run eagerly through the same ops).
 */
class CudaFusedDecodeStepTest {

    private static final int STEPS = 12;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void fusedDecodeStepsMatchUnfusedSteps(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            Run fused = run(decoder, true);
            Run unfused = run(decoder, false);
            System.out.printf("FUSED-DECODE %s: tokens fused %s unfused %s%n", name, Arrays.toString(fused.tokens),
                    Arrays.toString(unfused.tokens));
            assertArrayEquals(unfused.tokens, fused.tokens, "greedy tokens with and without the fused decode step");
            assertEquals(unfused.logits.size(), fused.logits.size());
            for (int i = 0; i < fused.logits.size(); i++) {
                float[] a = fused.logits.get(i);
                float[] b = unfused.logits.get(i);
                float scale = 1f;
                for (float v : b) {
                    scale = Math.max(scale, Math.abs(v));
                }
                float relative = DecoderFixture.maxAbsDiff(a, b) / scale;
                assertTrue(relative <= 1e-4f, "step " + i + ": fused logits differ from unfused by " + relative + " relative");
            }
        }
    }

    private record Run(int[] tokens, List<float[]> logits) {
    }

    private static Run run(Decoder decoder, boolean fused) {
        System.setProperty(CudaBackend.FUSED_DECODE_PROPERTY, Boolean.toString(fused));
        int vocab = decoder.config().vocabSize();
        List<float[]> logits = new ArrayList<>();
        int[] tokens = new int[2 * STEPS];
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            session.prefill(new int[] {1, 5, 9, 2});
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < STEPS; i++) {
                    int token = session.greedyToken();
                    tokens[round * STEPS + i] = token;
                    session.decode(token);
                    float[] step = new float[vocab];
                    session.copyLogits(step);
                    logits.add(step);
                }
                session.prefill(new int[] {3, 7});
            }
        } finally {
            System.clearProperty(CudaBackend.FUSED_DECODE_PROPERTY);
        }
        return new Run(tokens, logits);
    }
}
