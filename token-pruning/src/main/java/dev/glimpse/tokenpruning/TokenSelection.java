package dev.glimpse.tokenpruning;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The visual tokens of one image or frame that survive a stage: indices into the frame's original
 * {@link TokenGrid}, strictly ascending (raster order), so a model gathers feature rows with
 * {@code kept} directly and the (frame, row, col) origin of each kept token follows from the grid.
 *
 * @param frame  frame index (0 for a single image)
 * @param grid   the frame's original patch grid
 * @param kept   kept token indices, strictly ascending, each in [0, grid.size())
 * @param scores the score of every token of the grid (raster order, length grid.size()) that the
 *               strategy ranked by, NaN for tokens it did not score (pruned by an earlier stage),
 *               or null when it ranks by none (none, uniform)
 */
public record TokenSelection(int frame, TokenGrid grid, int[] kept, float[] scores) {

    public TokenSelection {
        kept = kept.clone();
        for (int i = 0; i < kept.length; i++) {
            if (kept[i] < 0 || kept[i] >= grid.size()) {
                throw new IllegalArgumentException("kept token " + kept[i] + " is outside the " + grid + " grid");
            }
            if (i > 0 && kept[i] <= kept[i - 1]) {
                throw new IllegalArgumentException("kept tokens must be strictly ascending (raster order): "
                        + kept[i - 1] + " then " + kept[i]);
            }
        }
        if (scores != null) {
            if (scores.length != grid.size()) {
                throw new IllegalArgumentException(scores.length + " scores for a " + grid + " grid");
            }
            scores = scores.clone();
        }
    }

    /** Every token of the grid, in raster order: what {@code none} returns. */
    public static TokenSelection all(int frame, TokenGrid grid) {
        return new TokenSelection(frame, grid, IntStream.range(0, grid.size()).toArray(), null);
    }

    @Override
    public int[] kept() {
        return kept.clone();
    }

    @Override
    public float[] scores() {
        return scores == null ? null : scores.clone();
    }

    public int count() {
        return kept.length;
    }

    /** True when nothing was dropped: the model path is then the same as without pruning. */
    public boolean keepsAll() {
        return kept.length == grid.size();
    }

    /** kept / grid size. */
    public double keepRatio() {
        return (double) kept.length / grid.size();
    }

    /** (frame, row, col) of each kept token, in kept order. */
    public List<TokenOrigin> origins() {
        List<TokenOrigin> out = new ArrayList<>(kept.length);
        for (int t : kept) {
            out.add(new TokenOrigin(frame, grid.row(t), grid.col(t)));
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenSelection other && frame == other.frame && grid.equals(other.grid)
                && Arrays.equals(kept, other.kept) && Arrays.equals(scores, other.scores);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * frame + grid.hashCode()) + Arrays.hashCode(kept)) + Arrays.hashCode(scores);
    }

    @Override
    public String toString() {
        return "TokenSelection[frame=" + frame + ", grid=" + grid + ", kept=" + kept.length + "/" + grid.size() + "]";
    }
}
