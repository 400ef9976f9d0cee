package dev.glimpse.tokenpruning.accounting;

/**
 * Prefill cost as the token-pruning papers report it (PAPERS.md, "Efficiency accounting"): per
 * decoder layer {@code 4 n d^2 + 2 n^2 d + 2 n d m} FLOPs for n tokens, hidden size d and FFN
 * size m, summed over layers with each layer's own n; and the average visual-token count across
 * decoder layers, the number layer-wise methods quote.
 */
public final class PrefillAccounting {

    private PrefillAccounting() {
    }

    /**
     * The decoder's shape.
     *
     * @param layers       decoder layers
     * @param hidden       hidden size d
     * @param intermediate FFN size m
     */
    public record DecoderShape(int layers, long hidden, long intermediate) {
        public DecoderShape {
            if (layers <= 0 || hidden <= 0 || intermediate <= 0) {
                throw new IllegalArgumentException("decoder shape must be positive: " + layers + " layers, d = " + hidden
                        + ", m = " + intermediate);
            }
        }
    }

    /**
     * What one prefill cost against the same prompt unpruned.
     *
     * @param flops               prefill FLOPs with pruning
     * @param unprunedFlops       prefill FLOPs with every visual token in every layer
     * @param visualTokensIn      visual tokens the vision encoder produced (before any pruning)
     * @param averageVisualTokens mean over decoder layers of the visual tokens each processed
     */
    public record PrefillCost(double flops, double unprunedFlops, int visualTokensIn, double averageVisualTokens) {

        /** flops / unprunedFlops. */
        public double flopsRatio() {
            return flops / unprunedFlops;
        }
    }

    /** FLOPs of one layer over n tokens: {@code 4 n d^2 + 2 n^2 d + 2 n d m}. */
    public static double layerFlops(long n, long hidden, long intermediate) {
        double d = hidden;
        return 4.0 * n * d * d + 2.0 * n * n * d + 2.0 * n * d * intermediate;
    }

    /** FLOPs of a prefill where layer l processes {@code tokensPerLayer[l]} tokens. */
    public static double prefillFlops(DecoderShape shape, int[] tokensPerLayer) {
        if (tokensPerLayer.length != shape.layers()) {
            throw new IllegalArgumentException(tokensPerLayer.length + " token counts for " + shape.layers() + " layers");
        }
        double sum = 0;
        for (int n : tokensPerLayer) {
            sum += layerFlops(n, shape.hidden(), shape.intermediate());
        }
        return sum;
    }

    /** Mean of the per-layer visual-token counts. */
    public static double averageVisualTokens(int[] visualTokensPerLayer) {
        double sum = 0;
        for (int n : visualTokensPerLayer) {
            sum += n;
        }
        return visualTokensPerLayer.length == 0 ? 0 : sum / visualTokensPerLayer.length;
    }

    /**
     * The cost of a prefill of {@code textTokens} non-visual tokens plus {@code visualTokensPerLayer[l]}
     * visual tokens in layer l, against the unpruned prefill with {@code visualTokensIn} visual tokens
     * in every layer. A layer may hold more visual tokens than were encoded when a resize made new
     * ones (QuoTA's bilinear share of a frame is uncapped, so a frame can be resized up); the ratio
     * then exceeds 1 where they outnumber what the others dropped.
     */
    public static PrefillCost cost(DecoderShape shape, int textTokens, int visualTokensIn, int[] visualTokensPerLayer) {
        int[] pruned = new int[shape.layers()];
        int[] full = new int[shape.layers()];
        if (visualTokensPerLayer.length != shape.layers()) {
            throw new IllegalArgumentException(visualTokensPerLayer.length + " visual counts for " + shape.layers() + " layers");
        }
        for (int l = 0; l < pruned.length; l++) {
            if (visualTokensPerLayer[l] < 0) {
                throw new IllegalArgumentException("layer " + l + " has " + visualTokensPerLayer[l] + " visual tokens");
            }
            pruned[l] = textTokens + visualTokensPerLayer[l];
            full[l] = textTokens + visualTokensIn;
        }
        return new PrefillCost(prefillFlops(shape, pruned), prefillFlops(shape, full), visualTokensIn,
                averageVisualTokens(visualTokensPerLayer));
    }
}
