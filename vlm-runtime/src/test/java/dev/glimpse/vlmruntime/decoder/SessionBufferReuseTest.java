package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.vlmruntime.SavedProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A session that takes the buffers a closed session of the same shape left
 * ({@link SessionBufferPool}) computes what a session with fresh buffers does, bit for bit, even
 * though those buffers still hold the previous sequence's keys and activations.
 */
class SessionBufferReuseTest {

    private final SavedProperties saved = SavedProperties.of(SessionBufferPool.PROPERTY, CapacityBuckets.PROPERTY);

    @AfterEach
    void restoreProperties() {
        saved.close();
    }

    @Test
    void reusedBuffersGiveTheLogitsOfFreshOnesBitForBit() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            SessionReuse.assertReusedBuffersGiveFreshLogits(f.decoder(), f.inputIds(), new int[] {4, 2}, 1, "");
        }
    }

    @Test
    void withoutBucketsASessionOfAnotherCapacityGetsItsOwnBuffers() {
        System.setProperty(CapacityBuckets.PROPERTY, "0");
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
    void sessionsOfOneCapacityBucketShareTheirBuffers() {
        System.setProperty(CapacityBuckets.PROPERTY, "256");
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            KvCache first;
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                first = s.cache();
                assertEquals(256, first.capacity());
                assertEquals(64, first.limit());
            }
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(200))) {
                assertSame(first, s.cache());
                assertEquals(200, s.cache().limit());
                assertEquals(200, s.cache().remaining());
            }
            KvCache larger;
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(257))) {
                assertNotSame(first, s.cache());
                assertEquals(512, s.cache().capacity());
                larger = s.cache();
            }
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                assertSame(larger, s.cache(), "a request of a smaller bucket takes the larger idle set");
                assertEquals(64, s.cache().limit());
            }
        }
    }

    @Test
    void withoutBucketsOnlyAnEqualShapeIsReused() {
        System.setProperty(CapacityBuckets.PROPERTY, "0");
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            KvCache larger;
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(100))) {
                larger = s.cache();
            }
            try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
                assertNotSame(larger, s.cache());
                assertEquals(64, s.cache().capacity());
            }
        }
    }

    @Test
    void aBucketedSessionIsFullWhereItAsked() {
        System.setProperty(CapacityBuckets.PROPERTY, "256");
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession s = f.decoder().newSession(SessionOptions.of(6))) {
            assertThrows(IllegalStateException.class, () -> s.prefill(new int[] {1, 2, 3, 4, 5, 6, 7}));
            s.prefill(new int[] {1, 2, 3, 4, 5});
            s.decode(s.greedyToken());
            assertEquals(0, s.cache().remaining());
            assertThrows(IllegalStateException.class, () -> s.decode(s.greedyToken()));
        }
    }

    @Test
    void aSessionOnAnotherRequestsBucketedBuffersGivesTheLogitsOfFreshOnesBitForBit() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            int[] prompt = f.inputIds();
            System.setProperty(SessionBufferPool.PROPERTY, "false");
            float[][] fresh = promptAndSteps(f.decoder(), prompt, 48);
            System.clearProperty(SessionBufferPool.PROPERTY);
            System.setProperty(CapacityBuckets.PROPERTY, "128");
            KvCache previous;
            try (DecoderSession other = f.decoder().newSession(SessionOptions.of(100))) {
                int[] longer = new int[60];
                Arrays.setAll(longer, i -> 1 + (i * 7) % 50);
                other.prefill(longer);
                other.decode(other.greedyToken());
                previous = other.cache();
            }
            try (DecoderSession probe = f.decoder().newSession(SessionOptions.of(48))) {
                assertSame(previous, probe.cache(), "a request of 48 entries takes the closed 100-entry request's set");
            }
            float[][] reused = promptAndSteps(f.decoder(), prompt, 48);
            for (int i = 0; i < fresh.length; i++) {
                assertArrayEquals(fresh[i], reused[i], 0f, "logits " + i);
            }
        }
    }

    /** {@code prompt} in a session of {@code capacity}, then two greedy steps: the logits after each. */
    private static float[][] promptAndSteps(Decoder decoder, int[] prompt, int capacity) {
        int vocab = decoder.config().vocabSize();
        float[][] out = new float[3][vocab];
        try (DecoderSession s = decoder.newSession(SessionOptions.of(capacity))) {
            s.prefill(prompt);
            s.copyLogits(out[0]);
            for (int i = 1; i < out.length; i++) {
                s.decode(s.greedyToken());
                s.copyLogits(out[i]);
            }
        }
        return out;
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
}
