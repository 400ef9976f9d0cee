package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
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
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The decode step with RoPE and the KV append in the q/k/v GEMV's epilogue
 * ({@code -Dglimpse.cuda.decodeRopeEpilogue=true}) against the default step (rms_norm_linear then
 * rope_append_kv): the same greedy tokens and every step's logits bit for bit, on synthetic BF16
 * Qwen2 (grouped-query, q/k/v biases) and Llama (multi-head, q/k/v/o biases) decoders with an F32 and
 * a BF16 KV cache, prompts of 60 and 190 ids, then {@value #STEPS} graph-replayed greedy steps; and on
 * the bf16 decoder fixtures (heads of 16, prompts of 23 ids). A session with the default runs first, so both compared sessions find
 * every prefill GEMM's algorithm already chosen.
 */
class CudaDecodeRopeEpilogueStepTest {

    private static final int STEPS = 16;

    @TempDir
    Path dir;

    private record Run(int[] tokens, List<float[]> logits) {
    }

    @ParameterizedTest(name = "{0} cache={1} prompt={2}")
    @CsvSource({"qwen2, f32, 60", "qwen2, half, 190", "llama, f32, 190", "llama, half, 60"})
    void epilogueStepsGiveTheDefaultStepsBits(String family, String cacheMode, int promptLength) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 11, 512);
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            prompt[i] = (i * 29 + 3) % SyntheticDecoders.VOCAB;
        }
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        try {
            compare(folder, prompt, 512, family + " cache=" + cacheMode + " prompt=" + promptLength);
        } finally {
            System.clearProperty(KvCache.DTYPE_PROPERTY);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void epilogueStepsGiveTheDefaultStepsBitsOnTheFixtures(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        int[] prompt = new int[23];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = (i * 7 + 5) % 100;
        }
        compare(folder, prompt, 64, name);
    }

    private static void compare(Path folder, int[] prompt, int capacity, String label) {
        try (Backend cuda = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(cuda, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            run(decoder, prompt, capacity, "false");
            Run off = run(decoder, prompt, capacity, "false");
            Run on = run(decoder, prompt, capacity, "true");
            System.out.printf("DECODE-ROPE-EPILOGUE %s: tokens %s vs default %s%n", label, Arrays.toString(on.tokens()),
                    Arrays.toString(off.tokens()));
            assertArrayEquals(off.tokens(), on.tokens(), label + ": greedy tokens");
            for (int i = 0; i < STEPS; i++) {
                assertArrayEquals(off.logits().get(i), on.logits().get(i), label + ": step " + i + " logits");
            }
        }
    }

    /** Prefill then {@value #STEPS} greedy decode steps with {@code -Dglimpse.cuda.decodeRopeEpilogue=epilogue}. */
    private static Run run(Decoder decoder, int[] prompt, int capacity, String epilogue) {
        System.setProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY, epilogue);
        int vocab = decoder.config().vocabSize();
        int[] tokens = new int[STEPS];
        List<float[]> logits = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(capacity))) {
            session.prefill(prompt);
            for (int i = 0; i < STEPS; i++) {
                tokens[i] = session.greedyToken();
                session.decode(tokens[i]);
                float[] step = new float[vocab];
                session.copyLogits(step);
                logits.add(step);
            }
        } finally {
            System.clearProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY);
        }
        return new Run(tokens, logits);
    }
}
