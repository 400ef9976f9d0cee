package dev.glimpse.vlmruntime.decoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The check the CPU and GPU session-reuse tests share: a conversation's logits on freshly
 * allocated buffers ({@link SessionBufferPool} off) and again on the buffers a closed, longer
 * session left ({@link SessionBufferPool} on; stale keys beyond the cache lengths, stale
 * activations), bit for bit.
 */
public final class SessionReuse {

    private SessionReuse() {
    }

    /**
     * Runs the conversation (a capacity-64 session: {@code prompt}, then for each entry of
     * {@code stepsPerRound} that many greedy steps and a prefill of {@code [3, 7]}) with fresh
     * buffers, closes a session that prefilled 40 tokens and decoded {@code staleSteps}, runs the
     * conversation again, asserting it took that session's buffers, and asserts equal logits
     * (messages start with {@code label}). The pool property is cleared after.
     */
    public static void assertReusedBuffersGiveFreshLogits(Decoder decoder, int[] prompt, int[] stepsPerRound,
                                                         int staleSteps, String label) {
        try {
            System.setProperty(SessionBufferPool.PROPERTY, "false");
            List<float[]> fresh = conversation(decoder, prompt, stepsPerRound, null);
            System.setProperty(SessionBufferPool.PROPERTY, "true");
            KvCache previous;
            try (DecoderSession other = decoder.newSession(SessionOptions.of(64))) {
                int[] longer = new int[40];
                Arrays.setAll(longer, i -> 1 + (i * 7) % 50);
                other.prefill(longer);
                for (int i = 0; i < staleSteps; i++) {
                    other.decode(other.greedyToken());
                }
                previous = other.cache();
            }
            List<float[]> reused = conversation(decoder, prompt, stepsPerRound, previous);
            assertEquals(fresh.size(), reused.size());
            for (int i = 0; i < fresh.size(); i++) {
                assertArrayEquals(fresh.get(i), reused.get(i), 0f, label + "logits " + i);
            }
        } finally {
            System.clearProperty(SessionBufferPool.PROPERTY);
        }
    }

    /** The conversation's logits before every step and after the last prefill; {@code expectedCache}: the cache it must take. */
    private static List<float[]> conversation(Decoder decoder, int[] prompt, int[] stepsPerRound, KvCache expectedCache) {
        List<float[]> out = new ArrayList<>();
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            if (expectedCache != null) {
                assertSame(expectedCache, session.cache(), "the session reuses the closed session's buffers");
            }
            session.prefill(prompt);
            for (int steps : stepsPerRound) {
                for (int i = 0; i < steps; i++) {
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
