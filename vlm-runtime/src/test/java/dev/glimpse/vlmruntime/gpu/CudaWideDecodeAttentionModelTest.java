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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wide decode attention kernel ({@code -Dglimpse.cuda.decodeAttention=wide}, opt-in) in a whole
 * decoder: synthetic BF16 decoders with heads of dim 64 ({@link SyntheticDecoders}; the parity
 * fixtures' heads of 16 are not among the wide kernel's dims) decode {@value #STEPS} graph-replayed
 * greedy steps after prompts of 700 and 1500 ids with an F32 and a BF16 KV cache, and give the default
 * kernel's greedy tokens, logits within {@value #RELATIVE} of its largest (other F32 summation orders).
 * Qwen2 groups 2 query heads per kv head, Llama none; grid {@code 1x256} makes each block walk several
 * tiles, the default {@code 1x64} one tile per block over many splits.
 */
class CudaWideDecodeAttentionModelTest {

    private static final int STEPS = 16;
    private static final int CAPACITY = 2048;
    private static final float RELATIVE = 1e-4f;

    @TempDir
    Path dir;

    private record Run(int[] tokens, List<float[]> logits) {
    }

    @ParameterizedTest(name = "{0} cache={1} prompt={2} grid={3}")
    @CsvSource({"qwen2, f32, 1500, 1x64", "qwen2, half, 1500, 1x64", "qwen2, half, 700, 1x256",
            "llama, f32, 700, 1x64", "llama, half, 1500, 1x256"})
    void wideStepsGiveTheDefaultKernelsTokens(String family, String cacheMode, int promptLength, String grid) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 23, CAPACITY);
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            prompt[i] = (i * 31 + 7) % SyntheticDecoders.VOCAB;
        }
        String label = family + " cache=" + cacheMode + " prompt=" + promptLength + " grid=" + grid;
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        System.setProperty("glimpse.cuda.decodeWideGrid", grid);
        try (Backend cuda = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(cuda, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            Run standard = run(decoder, prompt, null);
            Run wide = run(decoder, prompt, "wide");
            System.out.printf("WIDE-DECODE %s: tokens %s vs default %s%n", label, Arrays.toString(wide.tokens()),
                    Arrays.toString(standard.tokens()));
            assertArrayEquals(standard.tokens(), wide.tokens(), label + ": greedy tokens");
            for (int i = 0; i < STEPS; i++) {
                float[] expected = standard.logits().get(i);
                float scale = 1f;
                for (float v : expected) {
                    scale = Math.max(scale, Math.abs(v));
                }
                float diff = DecoderFixture.maxAbsDiff(wide.logits().get(i), expected) / scale;
                assertTrue(diff <= RELATIVE, label + ": step " + i + " logits differ by " + diff + " relative");
            }
        } finally {
            System.clearProperty(KvCache.DTYPE_PROPERTY);
            System.clearProperty("glimpse.cuda.decodeWideGrid");
        }
    }

    /** Prefill then {@value #STEPS} greedy steps with decode attention's kernel property set to {@code kernel} (null: unset). */
    private static Run run(Decoder decoder, int[] prompt, String kernel) {
        if (kernel != null) {
            System.setProperty(CudaBackend.DECODE_ATTENTION_PROPERTY, kernel);
        }
        int vocab = decoder.config().vocabSize();
        int[] tokens = new int[STEPS];
        List<float[]> logits = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(CAPACITY))) {
            session.prefill(prompt);
            for (int i = 0; i < STEPS; i++) {
                tokens[i] = session.greedyToken();
                session.decode(tokens[i]);
                float[] step = new float[vocab];
                session.copyLogits(step);
                logits.add(step);
            }
        } finally {
            System.clearProperty(CudaBackend.DECODE_ATTENTION_PROPERTY);
        }
        return new Run(tokens, logits);
    }
}
