package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@code atp}: ATP-LLaVA-style adaptive, instance- and layer-wise pruning of visual tokens at
 * chosen decoder layers (PAPERS.md). No official code exists; this follows the documented
 * third-party reading. After each layer l in {@code layers}, over the n visual tokens still active:
 * <pre>
 *   S_self_j  = (1/H) sum_h (1/n) sum_{q visual}  P^{l,h}[q, j]   visual->visual attention received, mean
 *   S_cross_j = (1/H) sum_h (1/m) sum_{q text}    P^{l,h}[q, j]   text->visual attention received, mean
 *   S_red_j   = (S_self_j + S_cross_j) / 2
 * </pre>
 * The text queries are the m non-visual prompt tokens after the first visual token (earlier
 * ones cannot see the image); the visual part is the column sums over all queries minus the text
 * rows (clamped at 0 against rounding). Token j is kept by the redundancy criterion iff
 * {@code S_red_j > cutoff}, the {@link AtpThreshold}: instance-wise, from a learned module or the
 * training-free mean rule. Reading of "redundancy": a token that receives little attention from
 * either image or text is the redundant one; ATP calls the score a redundancy score, and what it
 * prunes are the low ones.
 *
 * <p>Spatial Augmented Pruning: tokens whose original cell (row, col) satisfies
 * {@code row mod s = floor(s/2)} and {@code col mod s = floor(s/2)} (a uniform 2-D lattice with
 * stride s, cell centres) are kept regardless; {@code sapStride = 0} turns it off. A token
 * survives if either criterion keeps it. The count is adaptive: the trace records it (no budget),
 * and the session reports it per layer. Original position ids are the decoder's
 * {@code PositionMode.ORIGINAL}, ATP's convention.
 *
 * @param layers    decoder layers after which ATP prunes
 * @param threshold cutoff rule
 * @param sapStride lattice stride of Spatial Augmented Pruning, 0 for none
 */
public record AtpSelector(SortedSet<Integer> layers, AtpThreshold threshold, int sapStride) implements DecoderTokenPruner {

    public AtpSelector {
        layers = Collections.unmodifiableSortedSet(new TreeSet<>(layers));
        if (layers.isEmpty() || layers.first() < 0) {
            throw new IllegalArgumentException("atp needs at least one decoder layer >= 0, got " + layers);
        }
        if (sapStride < 0) {
            throw new IllegalArgumentException("atp SAP stride must be >= 0 (0 = off), got " + sapStride);
        }
    }

    /**
     * After layers 2, 6 and 15 (the layers SparseVLM rates at: ATP publishes none), mean rule with
     * factor 1, SAP stride 4 (36 lattice tokens of a 24 x 24 grid).
     */
    public static AtpSelector defaults() {
        return new AtpSelector(new TreeSet<>(List.of(2, 6, 15)), new AtpThreshold.MeanFactor(1.0), 4);
    }

    @Override
    public String name() {
        return "atp";
    }

    /**
     * S_self, S_cross and S_red of the n visual tokens from column sums [H][n] over all queries
     * and the text queries' rows [H][m][n]; {@code result[0..2]}.
     */
    public static float[][] scores(float[][] columnSums, float[][][] textRows) {
        int heads = columnSums.length;
        int n = columnSums[0].length;
        int m = textRows[0].length;
        double[] self = new double[n];
        double[] cross = new double[n];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < n; j++) {
                double text = 0;
                for (int q = 0; q < m; q++) {
                    text += textRows[h][q][j];
                }
                self[j] += Math.max(0, columnSums[h][j] - text) / n / heads;
                cross[j] += (m == 0 ? 0 : text / m) / heads;
            }
        }
        float[][] out = new float[3][n];
        for (int j = 0; j < n; j++) {
            out[0][j] = (float) self[j];
            out[1][j] = (float) cross[j];
            out[2][j] = (float) ((self[j] + cross[j]) / 2);
        }
        return out;
    }

    /** True when SAP keeps the token at (row, col). */
    public boolean onSpatialLattice(int row, int col) {
        return sapStride > 0 && row % sapStride == sapStride / 2 && col % sapStride == sapStride / 2;
    }

    @Override
    public DecoderPruningSession start(List<TokenSelection> visualTokens) {
        return new DecoderPruningSession(name(), new Rule(this), visualTokens);
    }

    static final class Rule implements LayerRule {
        private final AtpSelector config;

        Rule(AtpSelector config) {
            this.config = config;
        }

        @Override
        public AttentionNeeds needs(int layer) {
            return config.layers().contains(layer) ? new AttentionNeeds(false, true, true, false) : null;
        }

        @Override
        public Decision decide(Backend backend, DecoderAttention attention, List<TokenOrigin> current) {
            int layer = attention.layer();
            if (!config.layers().contains(layer)) {
                return Decision.none();
            }
            int n = current.size();
            float[][] sums = HostTensors.rows(backend, attention.columnSums(), "column sums", n);
            float[][][] text = textRows(backend, attention, sums.length, n);
            float[][] s = scores(sums, text);
            double cutoff = config.threshold().cutoff(layer, s[0], s[1], s[2]);
            List<Integer> keep = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                TokenOrigin o = current.get(j);
                if (s[2][j] > cutoff || config.onSpatialLattice(o.row(), o.col())) {
                    keep.add(j);
                }
            }
            return new Decision(keep.stream().mapToInt(Integer::intValue).toArray(), s[2], null);
        }

        private static float[][][] textRows(Backend backend, DecoderAttention attention, int heads, int n) {
            if (attention.textQueryProbs() == null) {
                throw new IllegalArgumentException("decoder attention: text query rows were not captured");
            }
            Tensor t = attention.textQueryProbs();
            if (t.rank() != 3 || t.dim(0) != heads || t.dim(2) != n) {
                throw new IllegalArgumentException("decoder attention: text query rows must be [" + heads + ", m, " + n
                        + "], got " + t);
            }
            int m = t.dim(1);
            float[] flat = HostTensors.values(backend, t);
            float[][][] out = new float[heads][m][n];
            for (int h = 0; h < heads; h++) {
                for (int q = 0; q < m; q++) {
                    System.arraycopy(flat, (h * m + q) * n, out[h][q], 0, n);
                }
            }
            return out;
        }
    }
}
