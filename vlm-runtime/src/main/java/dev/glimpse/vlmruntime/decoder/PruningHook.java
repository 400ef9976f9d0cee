package dev.glimpse.vlmruntime.decoder;

import java.util.Optional;

/**
 * Token pruning at decoder layer boundaries during prefill (ARCHITECTURE.md hook point 3: FastV,
 * ATP, SpAtten). Strategies live in token-pruning; the decoder only asks and obeys.
 *
 * <p>Prefill runs layer by layer over all of its tokens (chunked within each layer), so when a
 * layer has run for every token of the prefill, the layers above it have not seen any of them yet.
 * A token dropped after layer l is therefore removed from the hidden states and never reaches the
 * KV cache of layers {@code > l}, while layers {@code <= l} keep its keys and values, exactly as
 * FastV's reference (hidden states indexed with the kept indices at layer K; the caches of layers
 * up to K hold every token). Later decode steps attend, per layer, to that layer's cache. Drops
 * cascade: a token dropped at one boundary stays dropped above it. A hook may drop only tokens of
 * the current prefill, and must keep the last one (its logits start generation).
 *
 * <p>Positions of kept tokens follow the session's {@link PositionMode}. A hook that keeps every
 * token leaves the outputs bit-identical to a prefill without hook.
 */
public interface PruningHook {

    /**
     * Called before {@code layer} runs. Returning a request makes the decoder capture that
     * attention and call {@link #keep} after the layer; empty skips this boundary.
     *
     * @param activeTokens sequence indices of the prefill's tokens entering the layer
     */
    Optional<AttentionRequest> before(int layer, int[] activeTokens);

    /**
     * Which of {@code attention.activeTokens()} continue to the next layer: indices into that
     * array, strictly ascending, including the last one.
     */
    int[] keep(LayerAttention attention);

    /**
     * The query heads that run in {@code layer} (SpAtten head pruning), asked before the layer
     * runs, after {@link #before}: null runs all. A head switched off outputs zero in this prefill
     * and in every later decode step of the session (its contribution to {@code o_proj} is
     * removed); heads stay off once off.
     */
    default boolean[] activeHeads(int layer) {
        return null;
    }
}
