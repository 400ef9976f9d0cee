package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Greedy decode runs of a fixture decoder under one setting of a system property, for A/B tests
 * of CUDA decode-step switches: prefill 4 ids, {@value #STEPS} greedy steps, prefill 2 more, another
 * {@value #STEPS} steps (the decode graph replayed throughout, its first step eager).
 */
final class DecodeRuns {

    static final int STEPS = 12;

    record Run(int[] tokens, List<float[]> logits) {
    }

    private DecodeRuns() {
    }

    /** The run with {@code property} set to {@code value} (cleared afterwards) in a session of {@code capacity}. */
    static Run run(Decoder decoder, String property, String value, int capacity) {
        System.setProperty(property, value);
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
            System.clearProperty(property);
        }
        return new Run(tokens, logits);
    }

    /** Same greedy tokens, and every step's logits within {@code relative} of {@code expected}'s largest magnitude. */
    static void assertSameRun(Run expected, Run actual, float relative, String what) {
        assertArrayEquals(expected.tokens(), actual.tokens(), "greedy tokens " + what);
        assertEquals(expected.logits().size(), actual.logits().size());
        for (int i = 0; i < actual.logits().size(); i++) {
            float[] a = actual.logits().get(i);
            float[] b = expected.logits().get(i);
            float scale = 1f;
            for (float v : b) {
                scale = Math.max(scale, Math.abs(v));
            }
            float diff = DecoderFixture.maxAbsDiff(a, b) / scale;
            assertTrue(diff <= relative, "step " + i + ": logits " + what + " differ by " + diff + " relative");
        }
    }
}
