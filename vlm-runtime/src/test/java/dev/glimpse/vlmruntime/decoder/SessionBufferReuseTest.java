package dev.glimpse.vlmruntime.decoder;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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
            SessionReuse.assertReusedBuffersGiveFreshLogits(f.decoder(), f.inputIds(), new int[] {4, 2}, 1, "");
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
}
