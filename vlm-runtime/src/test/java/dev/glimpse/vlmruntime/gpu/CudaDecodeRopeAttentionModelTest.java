package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.KvCache;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decode step's RoPE + KV append folded into the wide decode attention kernel
 * ({@code -Dglimpse.cuda.decodeRopeAttention=true}, {@link CudaBackend#ropeAppendKvDecodeAttention}) in a whole
 * decoder: synthetic BF16 decoders with heads of dim 64 ({@link SyntheticDecoders}) and a KV cache of
 * {@value #CAPACITY} entries (so the default decode attention is the wide kernel) decode {@value #STEPS} greedy
 * steps after prompts of 700 and 1500 ids (the first step runs eagerly, the rest replay the captured step graph)
 * with an F32 and a BF16 cache, and give the switch-off run's greedy tokens and logits bit for bit (after a
 * warm-up run, on one backend). Qwen2 groups 2 query heads per kv head, Llama none.
 */
class CudaDecodeRopeAttentionModelTest {

    private static final int STEPS = 12;
    private static final int CAPACITY = 4096;

    @TempDir
    Path dir;

    private record Run(int[] tokens, List<float[]> logits) {
    }

    @ParameterizedTest(name = "{0} cache={1} prompt={2}")
    @CsvSource({"qwen2, f32, 1500", "qwen2, half, 700", "llama, f32, 700", "llama, half, 1500"})
    void foldedStepsGiveTheSameTokensAndLogitsBitForBit(String family, String cacheMode, int promptLength) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 29, CAPACITY);
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            prompt[i] = (i * 37 + 11) % SyntheticDecoders.VOCAB;
        }
        String label = family + " cache=" + cacheMode + " prompt=" + promptLength;
        String old = System.getProperty(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY);
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        try (Backend cuda = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(cuda, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            // A first run settles cuBLASLt's algorithm choices (measured at a problem's first eager call, the
            // heuristic's inside a capture until then), so the two compared runs take the same products.
            run(decoder, prompt, false);
            Run twoLaunches = run(decoder, prompt, false);
            Run folded = run(decoder, prompt, true);
            System.out.printf("DECODE-ROPE-ATTENTION %s: tokens %s vs %s%n", label, Arrays.toString(folded.tokens()),
                    Arrays.toString(twoLaunches.tokens()));
            assertArrayEquals(twoLaunches.tokens(), folded.tokens(), label + ": greedy tokens");
            for (int i = 0; i < STEPS; i++) {
                assertArrayEquals(twoLaunches.logits().get(i), folded.logits().get(i), label + ": step " + i + " logits");
            }
        } finally {
            System.clearProperty(KvCache.DTYPE_PROPERTY);
            if (old == null) {
                System.clearProperty(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY);
            } else {
                System.setProperty(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY, old);
            }
        }
    }

    /** Prefill then {@value #STEPS} greedy steps with the switch set to {@code folded}. */
    private static Run run(Decoder decoder, int[] prompt, boolean folded) {
        System.setProperty(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY, Boolean.toString(folded));
        int vocab = decoder.config().vocabSize();
        int[] tokens = new int[STEPS];
        List<float[]> logits = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(CAPACITY))) {
            assertTrue(session.cache().capacity() >= 4096, "a cache the wide kernel takes by default, got "
                    + session.cache().capacity());
            session.prefill(prompt);
            for (int i = 0; i < STEPS; i++) {
                tokens[i] = session.greedyToken();
                session.decode(tokens[i]);
                float[] step = new float[vocab];
                session.copyLogits(step);
                logits.add(step);
            }
        }
        return new Run(tokens, logits);
    }
}
