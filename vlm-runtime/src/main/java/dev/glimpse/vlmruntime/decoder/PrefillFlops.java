package dev.glimpse.vlmruntime.decoder;

/**
 * The prefill cost estimate the token-pruning papers report (PAPERS.md, "Efficiency accounting"):
 * per decoder layer {@code 4 n d^2 + 2 n^2 d + 2 n d m} for n tokens, hidden size d and FFN size m,
 * summed over layers with each layer's own n, so pruning inside the decoder shows.
 */
public final class PrefillFlops {

    private PrefillFlops() {
    }

    /** FLOPs of one layer over {@code n} tokens. */
    public static double layer(long n, long hidden, long intermediate) {
        double d = hidden;
        return 4.0 * n * d * d + 2.0 * n * n * d + 2.0 * n * d * intermediate;
    }

    /** FLOPs of all layers; {@code tokensPerLayer[l]} is the token count layer l processed. */
    public static double total(int[] tokensPerLayer, long hidden, long intermediate) {
        double sum = 0;
        for (int n : tokensPerLayer) {
            sum += layer(n, hidden, intermediate);
        }
        return sum;
    }
}
