package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;

import java.util.Optional;

/** What the tests of prefill graphs read of a session's pooled buffers, the hook they pass, the padded reference they run. */
public final class PrefillGraphProbe {

    private PrefillGraphProbe() {
    }

    /** Prefill graphs (captured, not failed) that {@code session}'s buffers hold. */
    public static int graphsHeld(DecoderSession session) {
        return session.prefillGraphsHeld();
    }

    /**
     * Prefills {@code embeddings} at {@code positions} op by op over {@code rows} rows, padded as a
     * padded graph prefill pads them ({@link DecoderSession#prefillPadded}): the reference a padded
     * graph's replay must match bit for bit.
     */
    public static PrefillResult prefillPadded(DecoderSession session, Tensor embeddings, int[] positions, int rows) {
        return session.prefillPadded(embeddings, positions, rows);
    }

    /**
     * Keeps the padded graph key of {@code rows} rows at {@code session}'s cache length op by op, as a failed
     * capture or replay of it does ({@link PrefillGraphs#keepOpByOp}), under the properties set now.
     */
    public static void keepPaddedKeyOpByOp(DecoderSession session, int rows) {
        session.keepPaddedPrefillKeyOpByOp(rows);
    }

    /**
     * A pruning hook that asks for no attention and keeps every token: a prefill with it must still
     * run op by op (the hook's place is host work between layers), with the bits of one without it.
     */
    public static PruningHook keepAllHook() {
        return new PruningHook() {
            @Override
            public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
                return Optional.empty();
            }

            @Override
            public int[] keep(LayerAttention attention) {
                throw new AssertionError("no attention was requested");
            }
        };
    }
}
