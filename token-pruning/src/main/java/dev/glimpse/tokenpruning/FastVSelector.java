package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.tokenpruning.budget.TokenBudget;

import java.util.List;

/**
 * {@code fastv} (baseline, PAPERS.md): at decoder layer K, score each visual token by the
 * head-mean attention the last prompt token pays it, {@code s_j = (1/H) sum_h A^{K-1,h}[last, j]},
 * and keep the top {@code round(n (1 - R))} in prompt order; layers K and above see only those.
 *
 * <p>Reading of "at layer K": as the FastV reference, the scores come from the attention of layer
 * K - 1 (the last layer that still sees every token), and the cut takes effect from layer K; so
 * the session captures after layer K - 1. {@code keep} is R expressed as a budget:
 * {@code TokenBudget.ratio(1 - R)} (Math.round, halves up) or a count over all visual tokens.
 *
 * @param layer K >= 1 (FastV uses 2 or 3)
 * @param keep  tokens to keep of the n visual tokens entering layer K
 */
public record FastVSelector(int layer, TokenBudget keep) implements DecoderTokenPruner {

    public FastVSelector {
        if (layer < 1) {
            throw new IllegalArgumentException("FastV's K must be at least 1 (it reads layer K - 1), got " + layer);
        }
    }

    /** K = 2, R = 50%. */
    public static FastVSelector defaults() {
        return new FastVSelector(2, TokenBudget.ratio(0.5));
    }

    /** FastV with pruning ratio {@code r}: keeps {@code round(n (1 - r))}. */
    public static FastVSelector withRatio(int layer, double r) {
        return new FastVSelector(layer, TokenBudget.ratio(1 - r));
    }

    public FastVSelector withBudget(TokenBudget budget) {
        return new FastVSelector(layer, budget);
    }

    @Override
    public String name() {
        return "fastv";
    }

    /** The decoder layer whose attention is read: K - 1. */
    public int attentionLayer() {
        return layer - 1;
    }

    /** Head mean of the last token's rows {@code lastRow[h][j]}. */
    public static float[] scores(float[][] lastRow) {
        int n = lastRow[0].length;
        double[] sum = new double[n];
        for (float[] head : lastRow) {
            for (int j = 0; j < n; j++) {
                sum[j] += head[j];
            }
        }
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            out[j] = (float) (sum[j] / lastRow.length);
        }
        return out;
    }

    @Override
    public DecoderPruningSession start(List<TokenSelection> visualTokens) {
        return new DecoderPruningSession(name(), new Rule(this), visualTokens);
    }

    static final class Rule implements LayerRule {
        private final FastVSelector config;

        Rule(FastVSelector config) {
            this.config = config;
        }

        @Override
        public AttentionNeeds needs(int layer) {
            return layer == config.attentionLayer() ? AttentionNeeds.lastRow() : null;
        }

        @Override
        public Decision decide(Backend backend, DecoderAttention attention, List<TokenOrigin> current) {
            if (attention.layer() != config.attentionLayer()) {
                return Decision.none();
            }
            int n = current.size();
            float[] s = scores(HostTensors.rows(backend, attention.lastTokenProbs(), "last-token row", n));
            int k = config.keep().tokensFor(n);
            return new Decision(TopKSelection.topIndices(backend, s, k), s, k);
        }
    }
}
