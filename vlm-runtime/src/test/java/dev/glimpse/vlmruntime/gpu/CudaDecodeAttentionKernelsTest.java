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
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decode attention kernels in a whole decoder: graph-replayed decode steps with the online
 * flash-decoding kernel ({@code -Dglimpse.cuda.decodeAttention=online}, and {@code auto} over a
 * cache of 4096+ entries, where auto takes it) give the greedy tokens of the split kernel and
 * logits within 1e-4 relative (the kernels sum the keys in another order), across a second
 * prefill. The parity fixtures' sessions are far shorter than 4096, so without this test the
 * default kernel of long contexts would not run in a model.
 */
class CudaDecodeAttentionKernelsTest {

    private static final int STEPS = 12;

    @ParameterizedTest(name = "{0} {1} capacity {2}")
    @CsvSource({
            "decoder-llama-bf16, online, 64",
            "decoder-qwen2-bf16, online, 64",
            "decoder-qwen2, online, 64",
            "decoder-llama-bf16, auto, 5000",
            "decoder-qwen2-bf16, auto, 5000"})
    void onlineKernelStepsMatchSplitKernelSteps(String name, String kernel, int capacity) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            Run online = run(decoder, kernel, capacity);
            Run split = run(decoder, "split", capacity);
            System.out.printf("DECODE-ATTENTION %s %s capacity %d: tokens %s, split %s%n", name, kernel, capacity,
                    Arrays.toString(online.tokens), Arrays.toString(split.tokens));
            assertArrayEquals(split.tokens, online.tokens, "greedy tokens with the " + kernel + " and split kernels");
            assertEquals(split.logits.size(), online.logits.size());
            for (int i = 0; i < online.logits.size(); i++) {
                float[] a = online.logits.get(i);
                float[] b = split.logits.get(i);
                float scale = 1f;
                for (float v : b) {
                    scale = Math.max(scale, Math.abs(v));
                }
                float relative = DecoderFixture.maxAbsDiff(a, b) / scale;
                assertTrue(relative <= 1e-4f, "step " + i + ": " + kernel + " logits differ from split by " + relative
                        + " relative");
            }
        }
    }

    private record Run(int[] tokens, List<float[]> logits) {
    }

    private static Run run(Decoder decoder, String kernel, int capacity) {
        System.setProperty(CudaBackend.DECODE_ATTENTION_PROPERTY, kernel);
        int vocab = decoder.config().vocabSize();
        List<float[]> logits = new ArrayList<>();
        int[] tokens = new int[2 * STEPS];
        try (DecoderSession session = decoder.newSession(SessionOptions.of(capacity))) {
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
            System.clearProperty(CudaBackend.DECODE_ATTENTION_PROPERTY);
        }
        return new Run(tokens, logits);
    }
}
