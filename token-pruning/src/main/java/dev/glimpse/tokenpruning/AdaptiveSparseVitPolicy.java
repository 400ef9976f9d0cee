package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code as-vit}: Adaptive Sparse ViT's threshold pruning inside the vision encoder (hook point 1,
 * PAPERS.md). After each stage block, over the N tokens entering that block (row 0 = [CLS]):
 * <pre>
 *   eta^h_j = ||o^h_j||_2 / sum_h' ||o^h'_j||_2          (token-level head importance, o^h = A^h V^h)
 *   s_j     = sum_h a^h_{0,j} * eta^h_j                  (class attention weighted by it), j >= 1
 *   keep j  iff s_j > theta_k ; [CLS] always kept
 * </pre>
 * Scores come from the block that just ran (its [CLS] row and head-output norms, the encoder's
 * CLS-attention and head-output-norm taps). Cascade: a later stage sees only the survivors, so
 * a pruned token never returns; the count adapts per image. A token whose head norms are all 0
 * gets {@code eta = 1/H}. Not implemented: the paper's optional accumulated/EMA scores (its
 * default is the per-stage score used here). Towers without [CLS] (SigLIP) are not supported:
 * the score is defined by class attention.
 *
 * <p>The vision encoder's pruning hook calls, after each block:
 * {@code isStage(layer) ? keepRows(backend, layer, taps.clsAttention(), taps.headOutputNorms(), hasCls) : all}.
 *
 * @param thresholds stage blocks and their thresholds (a parameter file, or calibrated)
 */
public record AdaptiveSparseVitPolicy(AsVitThresholds thresholds) implements PruningStrategy {

    public static AdaptiveSparseVitPolicy defaults() {
        return new AdaptiveSparseVitPolicy(AsVitThresholds.deitSmallInitial());
    }

    @Override
    public String name() {
        return "as-vit";
    }

    @Override
    public HookPoint hookPoint() {
        return HookPoint.VISION_BLOCK;
    }

    /** Encoder blocks to tap (CLS attention and head-output norms): the stage blocks. */
    public int[] tapBlocks() {
        return thresholds.blocks();
    }

    public boolean isStage(int block) {
        return thresholds.stageAt(block) >= 0;
    }

    /**
     * {@code s_j} for j = 1..N-1 (result index j - 1) from the [CLS] rows {@code cls[h][j]} and
     * head-output norms {@code norms[h][j]}, both [H][N] with [CLS] at 0.
     */
    public static float[] scores(float[][] cls, float[][] norms) {
        int heads = cls.length;
        if (norms.length != heads) {
            throw new IllegalArgumentException("AS-ViT: " + heads + " heads of class attention but " + norms.length
                    + " of head-output norms");
        }
        int n = cls[0].length;
        float[] out = new float[n - 1];
        for (int j = 1; j < n; j++) {
            double normSum = 0;
            for (int h = 0; h < heads; h++) {
                normSum += norms[h][j];
            }
            double s = 0;
            for (int h = 0; h < heads; h++) {
                double eta = normSum > 0 ? norms[h][j] / normSum : 1.0 / heads;
                s += cls[h][j] * eta;
            }
            out[j - 1] = (float) s;
        }
        return out;
    }

    /**
     * {@code s_j} of one tapped block, from its [CLS] attention and head-output norms ([H][N] tensors
     * over the N tokens entering it, [CLS] at row 0): result index j - 1 for row j. What
     * {@link #decide} thresholds; {@link AsVitCalibration} fits thresholds on these same scores.
     */
    public static float[] scores(Backend backend, Tensor clsAttention, Tensor headOutputNorms) {
        int n = clsAttention.dim(1);
        return scores(HostTensors.rows(backend, clsAttention, "[CLS] attention", n),
                HostTensors.rows(backend, headOutputNorms, "head-output norms", n));
    }

    /**
     * Scores of the current rows 1..N-1 ({@code scores[j - 1]}) placed on the original patch grid;
     * NaN for patches an earlier stage dropped. {@code tokens} are the original token index of each
     * current row (the encoder's numbering: [CLS] 0, patch (r, c) at {@code 1 + r * cols + c}).
     */
    public static float[] onGrid(TokenGrid grid, int[] tokens, float[] scores) {
        float[] gridScores = new float[grid.size()];
        Arrays.fill(gridScores, Float.NaN);
        for (int j = 1; j < tokens.length; j++) {
            gridScores[tokens[j] - 1] = scores[j - 1];
        }
        return gridScores;
    }

    /** The decision after one stage block: kept rows of the current sequence and the scores. */
    public Decision decide(Backend backend, int block, Tensor clsAttention, Tensor headOutputNorms, boolean hasClassToken) {
        int stage = thresholds.stageAt(block);
        if (stage < 0) {
            throw new IllegalArgumentException("as-vit has no stage after block " + block + "; stages: "
                    + Arrays.toString(thresholds.blocks()));
        }
        if (!hasClassToken) {
            throw new IllegalArgumentException("as-vit scores tokens by [CLS] attention; this tower has no [CLS] "
                    + "(SigLIP): use vtc-cls (probe attention) instead");
        }
        int n = clsAttention.dim(1);
        float[] s = scores(backend, clsAttention, headOutputNorms);
        double theta = thresholds.thresholds()[stage];
        List<Integer> rows = new ArrayList<>();
        rows.add(0);
        for (int j = 1; j < n; j++) {
            if (s[j - 1] > theta) {
                rows.add(j);
            }
        }
        return new Decision(rows.stream().mapToInt(Integer::intValue).toArray(), s);
    }

    /** {@link #decide}'s kept rows (into the current sequence, ascending, [CLS] row 0 included). */
    public int[] keepRows(Backend backend, int block, Tensor clsAttention, Tensor headOutputNorms, boolean hasClassToken) {
        return decide(backend, block, clsAttention, headOutputNorms, hasClassToken).rows();
    }

    /**
     * One stage's outcome.
     *
     * @param rows   kept rows of the current sequence, ascending, row 0 ([CLS]) first
     * @param scores s_j of rows 1..N-1 (index j - 1)
     */
    public record Decision(int[] rows, float[] scores) {

        /**
         * The surviving patches as a selection over the original grid, for the trace: {@code tokens}
         * are the original token index of each current row (the encoder's numbering: [CLS] 0,
         * patch (r, c) at {@code 1 + r * cols + c}).
         */
        public TokenSelection survivors(int frame, TokenGrid grid, int[] tokens) {
            float[] gridScores = onGrid(grid, tokens, scores);
            int[] kept = new int[rows.length - 1];
            for (int i = 1; i < rows.length; i++) {
                kept[i - 1] = tokens[rows[i]] - 1;
            }
            return new TokenSelection(frame, grid, kept, gridScores);
        }
    }
}
