package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.SavedProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A prefill run over padded rows ({@link PrefillPadding}: what a padded CUDA graph replays) leaves
 * the session of the exact prefill: the logits of the last real row, the cache bookkeeping of the
 * real rows alone, and a cache whose padded entries past them no later decode step or prefill reads.
 * The host's GEMMs do not compute a row the same way for every row count (OpenBLAS above 8 rows
 * blocks them by the count; the Vector API below it differs in the last bits between 4 and 8 rows),
 * so the logits agree to 1e-4, float rounding on logits of order 1: a real row reading a padded
 * one, a copy of the last token, would move them by far more (that token's key counted again in
 * every layer's softmax), as would decode steps that took the padded entries for the session's.
 */
class PaddedPrefillTest {

    private static final int STEPS = 3;

    private final SavedProperties saved = SavedProperties.of(CapacityBuckets.PROPERTY);

    @AfterEach
    void restoreProperty() {
        saved.close();
    }

    @Test
    void paddedRowsGiveTheExactPrefillsLogitsAndDecodeStepsToRounding() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            for (int[] ids : List.of(Arrays.copyOf(f.inputIds(), 3), f.inputIds())) {
                assertSameConversation(f.decoder(), ids);
            }
        }
    }

    /** The exact conversation's logits against those after prefills padded by 1 to 25 rows, to 1e-4. */
    private static void assertSameConversation(Decoder decoder, int[] ids) {
        List<float[]> exact = conversation(decoder, ids, 0);
        for (int pad : new int[] {1, 5, 9, 25}) {
            List<float[]> padded = conversation(decoder, ids, pad);
            for (int i = 0; i < exact.size(); i++) {
                assertArrayEquals(exact.get(i), padded.get(i), 1e-4f, ids.length + " rows + " + pad + " padded: logits "
                        + i);
            }
        }
    }

    @Test
    void aPaddedPrefillRecordsTheRealRowsOnly() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession s = f.decoder().newSession(SessionOptions.of(64));
             Tensor embeddings = f.decoder().embed(new int[] {5, 9, 2, 7})) {
            PrefillResult result = s.prefillPadded(embeddings, new int[] {0, 1, 2, 3}, 16);
            assertEquals(4, result.tokens());
            assertEquals(4, s.length());
            assertEquals(4, s.nextPosition());
            for (int l = 0; l < s.cache().layers(); l++) {
                assertArrayEquals(new int[] {0, 1, 2, 3}, s.cache().tokens(l), "layer " + l);
            }
            assertEquals(60, s.cache().remaining());
        }
    }

    @Test
    void paddedRowsMustFitTheChunkAndTheCache() {
        System.setProperty(CapacityBuckets.PROPERTY, "0");
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession s = f.decoder().newSession(SessionOptions.of(8));
             Tensor embeddings = f.decoder().embed(new int[] {5, 9, 2, 7})) {
            assertThrows(IllegalArgumentException.class, () -> s.prefillPadded(embeddings, new int[] {0, 1, 2, 3}, 9));
            assertThrows(IllegalArgumentException.class, () -> s.prefillPadded(embeddings, new int[] {0, 1, 2, 3}, 3));
        }
    }

    /**
     * {@code prompt} prefilled over {@code pad} more rows (0: the exact prefill), {@value #STEPS}
     * greedy steps, a two-token prefill (whose attention must not read the padded entries it does
     * not overwrite) and one more step; the logits after each.
     */
    private static List<float[]> conversation(Decoder decoder, int[] prompt, int pad) {
        List<float[]> out = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64));
             Tensor embeddings = decoder.embed(prompt)) {
            int[] positions = session.consecutivePositions(prompt.length);
            if (pad == 0) {
                session.prefill(embeddings, positions, null);
            } else {
                session.prefillPadded(embeddings, positions, prompt.length + pad);
            }
            out.add(logits(session));
            for (int i = 0; i < STEPS; i++) {
                session.decode(session.greedyToken());
                out.add(logits(session));
            }
            session.prefill(new int[] {3, 7});
            out.add(logits(session));
            session.decode(session.greedyToken());
            out.add(logits(session));
        }
        return out;
    }

    private static float[] logits(DecoderSession session) {
        float[] logits = new float[session.logits().dim(1)];
        session.copyLogits(logits);
        return logits;
    }
}
