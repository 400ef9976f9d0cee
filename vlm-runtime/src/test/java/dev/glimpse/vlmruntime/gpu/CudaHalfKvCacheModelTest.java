package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.KvCache;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bf16 decoder fixtures on the GPU with the default KV cache ({@code -Dglimpse.kvCache=auto}:
 * BF16 entries, as HF's bf16 cache) and with {@code f32} (the previous cache): the session's cache
 * has that type, both stay within the parity test's 0.25 of HF's bf16 logits and give HF's greedy
 * tokens while HF's top-2 margin exceeds 0.1, and the two caches' logits stay within 0.25 of each
 * other at every step (decode steps replayed from a CUDA graph, default kernels).
 */
class CudaHalfKvCacheModelTest {

    private static final float TOLERANCE = 0.25f;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void bf16CacheKeepsHfParityAndTracksTheF32Cache(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        JsonNode expected = expected(folder);
        int[] inputIds = ints(expected.get("input_ids"));
        int[] hfTokens = ints(expected.get("greedy_tokens"));
        JsonNode margins = expected.get("greedy_top2_margins");
        int stable = 0;
        while (stable < hfTokens.length && margins.get(stable).asDouble() > 0.1) {
            stable++;
        }
        Run half = run(folder, inputIds, hfTokens.length, "auto", DType.BF16);
        Run f32 = run(folder, inputIds, hfTokens.length, "f32", DType.F32);
        float vsHf = maxAbsDiff(half.logits[0], floats(expected.get("last_logits")));
        float vsHfF32 = maxAbsDiff(f32.logits[0], floats(expected.get("last_logits")));
        float worst = 0;
        for (int i = 0; i < half.logits.length; i++) {
            worst = Math.max(worst, maxAbsDiff(half.logits[i], f32.logits[i]));
        }
        System.out.printf("GPU-KVCACHE %s: last logits max|bf16 cache - hf| %.3g, max|f32 cache - hf| %.3g, max over steps"
                        + " |bf16 - f32 cache| %.3g; greedy bf16 %s f32 %s hf %s (stable %d)%n", name, vsHf, vsHfF32, worst,
                Arrays.toString(half.greedy), Arrays.toString(f32.greedy), Arrays.toString(hfTokens), stable);
        assertTrue(vsHf <= TOLERANCE, name + ": bf16-cache logits differ from HF's bf16 run by " + vsHf);
        assertArrayEquals(Arrays.copyOf(hfTokens, stable), Arrays.copyOf(half.greedy, stable), "bf16-cache greedy vs HF");
        assertTrue(worst <= TOLERANCE, name + ": bf16 and f32 caches' logits differ by " + worst);
    }

    private record Run(float[][] logits, int[] greedy) {
    }

    private static Run run(Path folder, int[] inputIds, int count, String cacheMode, DType expectedCache) {
        String old = System.getProperty(KvCache.DTYPE_PROPERTY);
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            assertEquals(expectedCache, session.cache().dtype(), "cache entry type under " + cacheMode);
            session.prefill(inputIds);
            float[][] logits = new float[count][decoder.config().vocabSize()];
            int[] greedy = new int[count];
            for (int i = 0; i < count; i++) {
                session.copyLogits(logits[i]);
                greedy[i] = argmax(logits[i]);
                if (i + 1 < count) {
                    session.decode(greedy[i]);
                }
            }
            return new Run(logits, greedy);
        } finally {
            if (old == null) {
                System.clearProperty(KvCache.DTYPE_PROPERTY);
            } else {
                System.setProperty(KvCache.DTYPE_PROPERTY, old);
            }
        }
    }

    private static JsonNode expected(Path folder) {
        try {
            return new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
