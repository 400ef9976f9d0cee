package dev.glimpse.vlmruntime.decoder;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * A session that takes the buffers a closed session of the same shape left
 * ({@link SessionBufferPool}) computes what a session with fresh buffers does, bit for bit, even
 * though those buffers still hold the previous sequence's keys and activations.
 */
class SessionBufferReuseTest {

    @AfterEach
    void clearProperty() {
        System.clearProperty(SessionBufferPool.PROPERTY);
    }

    @Test
    void reusedBuffersGiveTheLogitsOfFreshOnesBitForBit() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            System.setProperty(SessionBufferPool.PROPERTY, "false");
            List<float[]> fresh = generate(f.decoder(), f.inputIds(), null);
            System.setProperty(SessionBufferPool.PROPERTY, "true");
            KvCache previous;
            try (DecoderSession other = f.decoder().newSession(SessionOptions.of(64))) {
                int[] longer = new int[40];
                Arrays.setAll(longer, i -> 1 + (i * 7) % 50);
                other.prefill(longer);
                other.decode(other.greedyToken());
                previous = other.cache();
            }
            List<float[]> reused = generate(f.decoder(), f.inputIds(), previous);
            assertEquals(fresh.size(), reused.size());
            for (int i = 0; i < fresh.size(); i++) {
                assertArrayEquals(fresh.get(i), reused.get(i), 0f, "logits " + i);
            }
        }
    }

    @Test
    void aSessionOfAnotherCapacityGetsItsOwnBuffers() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            KvCache first;
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                first = s.cache();
            }
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(65))) {
                assertNotSame(first, s.cache());
                assertEquals(65, s.cache().capacity());
            }
        }
    }

    @Test
    void turnedOffEverySessionAllocates() {
        System.setProperty(SessionBufferPool.PROPERTY, "false");
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            KvCache first;
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                first = s.cache();
            }
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                assertNotSame(first, s.cache());
            }
        }
    }

    @Test
    void closingASessionTwiceHandsItsBuffersOutOnce() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            DecoderSession s = f.decoder().newSession(SessionOptions.of(64));
            KvCache cache = s.cache();
            s.close();
            s.close();
            try (DecoderSession a = f.decoder().newSession(SessionOptions.of(64));
                 DecoderSession b = f.decoder().newSession(SessionOptions.of(64))) {
                assertSame(cache, a.cache());
                assertNotSame(a.cache(), b.cache());
                assertEquals(0, a.length());
                assertEquals(0, a.cache().length(0));
            }
        }
    }

    /**
     * Logits of a prefill, four greedy decode steps, a second prefill and two more steps; when
     * {@code expectedCache} is given, the session must have taken that cache.
     */
    static List<float[]> generate(Decoder decoder, int[] ids, KvCache expectedCache) {
        List<float[]> out = new ArrayList<>();
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            if (expectedCache != null) {
                assertSame(expectedCache, session.cache(), "the session reuses the closed session's buffers");
            }
            session.prefill(ids);
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < (round == 0 ? 4 : 2); i++) {
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
