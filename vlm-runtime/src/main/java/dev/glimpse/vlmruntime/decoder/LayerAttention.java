package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;

/**
 * What a {@link PruningHook} sees after a decoder layer: the tokens of this prefill that went
 * through the layer and the attention it asked for. Keys are all entries of the layer's KV cache:
 * tokens of earlier prefills (and generated tokens) first, then this prefill's active tokens.
 * The tensors are valid only during {@link PruningHook#keep}.
 *
 * @param layer        the layer that just ran (0-based)
 * @param activeTokens sequence indices of this prefill's tokens that went through the layer, ascending
 * @param keyTokens    sequence indices of the layer's keys, in cache order
 * @param queryRows    the captured rows, as indices into {@code activeTokens}
 * @param rowProbs     [heads, queryRows.length, keys] softmax probabilities, or null
 * @param columnSums   [heads, keys] attention received by each key summed over this prefill's
 *                     queries, or null
 * @param headOutputL1 [heads] per query head, {@code sum_t sum_d |o[t, h, d]|} of the attention
 *                     output (before {@code o_proj}) over this prefill's active tokens, or null;
 *                     heads switched off by a head mask read zero
 */
public record LayerAttention(int layer, int[] activeTokens, int[] keyTokens, int[] queryRows, Tensor rowProbs,
                             Tensor columnSums, Tensor headOutputL1) {

    public LayerAttention {
        activeTokens = activeTokens.clone();
        keyTokens = keyTokens.clone();
        queryRows = queryRows.clone();
    }

    @Override
    public int[] activeTokens() {
        return activeTokens.clone();
    }

    @Override
    public int[] keyTokens() {
        return keyTokens.clone();
    }

    @Override
    public int[] queryRows() {
        return queryRows.clone();
    }
}
