package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

import java.util.List;

/**
 * One request's pruning state for a decoder-layer strategy, driven by a {@link DecoderPruningSession}
 * that keeps the token bookkeeping.
 */
sealed interface LayerRule permits FastVSelector.Rule, SpAttenCascade.Rule, AtpSelector.Rule {

    /** What to capture at {@code layer}, or null to skip it. */
    AttentionNeeds needs(int layer);

    /** Which current visual tokens go on after the layer of {@code attention}. */
    Decision decide(Backend backend, DecoderAttention attention, List<TokenOrigin> current);

    /** Heads that run in {@code layer}, or null for all. */
    default boolean[] headMask(int layer) {
        return null;
    }

    /**
     * @param keep   positions into the current visual tokens, ascending; null keeps all and records no stage
     * @param scores score per current token (for the trace), or null
     * @param budget tokens asked for, or null when the count is adaptive
     */
    record Decision(int[] keep, float[] scores, Integer budget) {
        static Decision none() {
            return new Decision(null, null, null);
        }
    }
}
