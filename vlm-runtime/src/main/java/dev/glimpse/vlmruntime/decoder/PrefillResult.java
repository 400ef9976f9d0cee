package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.tokenpruning.accounting.PrefillAccounting;

/**
 * What one {@link DecoderSession#prefill} did.
 *
 * @param tokens         tokens given to the prefill
 * @param tokensPerLayer tokens each layer processed (fewer above a pruning point)
 * @param keptTokens     tokens that reached the last layer
 * @param flops          {@link PrefillAccounting#prefillFlops} of {@code tokensPerLayer}
 * @param nanos          wall time of the prefill, logits included
 * @param headsPerLayer  query heads each layer ran after the prefill (all of them without head pruning)
 */
public record PrefillResult(int tokens, int[] tokensPerLayer, int keptTokens, double flops, long nanos,
                            int[] headsPerLayer) {

    public PrefillResult {
        tokensPerLayer = tokensPerLayer.clone();
        headsPerLayer = headsPerLayer.clone();
    }

    @Override
    public int[] headsPerLayer() {
        return headsPerLayer.clone();
    }

    @Override
    public int[] tokensPerLayer() {
        return tokensPerLayer.clone();
    }

    /** Mean tokens per layer, as layer-wise pruning papers report it. */
    public double meanTokensPerLayer() {
        double sum = 0;
        for (int n : tokensPerLayer) {
            sum += n;
        }
        return tokensPerLayer.length == 0 ? 0 : sum / tokensPerLayer.length;
    }
}
