package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.vlmruntime.SavedProperties;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link DecoderSession#decodeGreedy} is the loop "pick the greedy token, hand it on, stop or decode it":
 * same tokens, same session afterwards, each token handed on once, the stop and the limit honoured.
 * On the host (no replayed steps) it never runs ahead, whatever {@value DecoderSession#DECODE_AHEAD_PROPERTY} says.
 */
class GreedyDecodeTest {

    @Test
    void picksHfGreedyTokensUpToTheLimit() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            session.prefill(f.inputIds());
            List<Integer> seen = new ArrayList<>();
            int picked = session.decodeGreedy(8, seen::add);
            assertEquals(8, picked);
            assertArrayEquals(ints(f.expected().get("greedy_tokens")), seen.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(f.inputIds().length + 7, session.length(), "the limit-th token is picked, not appended");
        }
    }

    @Test
    void aRefusedTokenIsNotAppendedAndTheLogitsStayItsOwn() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2");
             DecoderSession looped = f.decoder().newSession(SessionOptions.of(64));
             DecoderSession greedy = f.decoder().newSession(SessionOptions.of(64))) {
            looped.prefill(f.inputIds());
            greedy.prefill(f.inputIds());
            int[] expected = new int[3];
            for (int i = 0; i < 3; i++) {
                expected[i] = looped.greedyToken();
                if (i < 2) {
                    looped.decode(expected[i]);
                }
            }
            List<Integer> seen = new ArrayList<>();
            int picked = greedy.decodeGreedy(100, t -> {
                seen.add(t);
                return seen.size() < 3;
            });
            assertEquals(3, picked);
            assertArrayEquals(expected, seen.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(looped.length(), greedy.length());
            assertEquals(looped.nextPosition(), greedy.nextPosition());
            float[] a = new float[f.decoder().config().vocabSize()];
            float[] b = new float[a.length];
            looped.copyLogits(a);
            greedy.copyLogits(b);
            assertArrayEquals(a, b);
        }
    }

    @Test
    void theCallbackSeesTheSessionBeforeItsTokenIsAppended() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(f.inputIds().length + 3))) {
            session.prefill(f.inputIds());
            List<Integer> remaining = new ArrayList<>();
            int picked = session.decodeGreedy(100, t -> {
                remaining.add(session.cache().remaining());
                return session.cache().remaining() >= 1;
            });
            assertEquals(List.of(3, 2, 1, 0), remaining);
            assertEquals(4, picked);
            assertEquals(0, session.cache().remaining());
        }
    }

    @Test
    void theHostBackendNeverRunsAhead() {
        try (SavedProperties saved = SavedProperties.of(DecoderSession.DECODE_AHEAD_PROPERTY)) {
            System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, "true");
            try (DecoderFixture f = DecoderFixture.open("decoder-llama");
                 DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
                session.prefill(f.inputIds());
                assertFalse(session.decodesAhead());
                session.decodeGreedy(8, t -> true);
                assertEquals(0, session.stepsQueuedAhead());
            }
        }
    }

    @Test
    void aLimitBelowOneIsRefused() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            session.prefill(f.inputIds());
            assertThrows(IllegalArgumentException.class, () -> session.decodeGreedy(0, t -> true));
        }
    }
}
