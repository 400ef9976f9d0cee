package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.KvCache;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * On the GPU, a session on the buffers a closed session left (stale keys beyond the cache
 * lengths, stale scratch, the decode graph re-captured over the same addresses) gives the logits
 * of a session on freshly allocated, zeroed buffers bit for bit, graphs on and off.
 */
class CudaSessionReuseTest {

    private static final String REUSE_PROPERTY = "glimpse.decoder.reuseSessionBuffers";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void reusedBuffersGiveFreshLogitsBitForBit(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            for (boolean graphs : new boolean[] {true, false}) {
                System.setProperty(DecoderSession.GRAPHS_PROPERTY, Boolean.toString(graphs));
                System.setProperty(REUSE_PROPERTY, "false");
                List<float[]> fresh = generate(decoder, null);
                System.setProperty(REUSE_PROPERTY, "true");
                KvCache previous;
                try (DecoderSession other = decoder.newSession(SessionOptions.of(64))) {
                    int[] longer = new int[40];
                    Arrays.setAll(longer, i -> 1 + (i * 7) % 50);
                    other.prefill(longer);
                    for (int i = 0; i < 3; i++) {
                        other.decode(other.greedyToken());
                    }
                    previous = other.cache();
                }
                List<float[]> reused = generate(decoder, previous);
                assertEquals(fresh.size(), reused.size());
                for (int i = 0; i < fresh.size(); i++) {
                    assertArrayEquals(fresh.get(i), reused.get(i), 0f, name + " graphs=" + graphs + " logits " + i);
                }
                System.out.println("PARITY session reuse " + name + " graphs=" + graphs + " exact");
            }
        } finally {
            System.clearProperty(DecoderSession.GRAPHS_PROPERTY);
            System.clearProperty(REUSE_PROPERTY);
        }
    }

    private static List<float[]> generate(Decoder decoder, KvCache expectedCache) {
        List<float[]> out = new ArrayList<>();
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            if (expectedCache != null) {
                assertSame(expectedCache, session.cache(), "the session reuses the closed session's buffers");
            }
            session.prefill(new int[] {1, 5, 9, 2});
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 6; i++) {
                    float[] logits = new float[vocab];
                    session.copyLogits(logits);
                    out.add(logits);
                    session.decode(session.greedyToken());
                }
                session.prefill(new int[] {3, 7});
            }
            float[] last = new float[vocab];
            session.copyLogits(last);
            out.add(last);
        }
        return out;
    }
}
