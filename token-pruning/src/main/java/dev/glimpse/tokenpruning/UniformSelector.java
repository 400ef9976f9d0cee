package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

/**
 * {@code uniform}: a 2-D grid subsample of exactly U tokens, evenly spaced over rows and columns
 * and covering the whole grid. For an R x C grid and budget U < R C:
 * <ol>
 *   <li>sampled rows {@code h = clamp(round(sqrt(U R / C)), 1, R)}, raised to {@code ceil(U / C)}
 *       if the rows could not hold U tokens;</li>
 *   <li>U is spread over the h rows: {@code floor(U / h)} tokens each, one more for the first
 *       {@code U mod h} of them;</li>
 *   <li>the k-th of h sampled rows is {@code floor((k + 1/2) R / h)}, and the j-th of m columns
 *       in a row is {@code floor((j + 1/2) C / m)}: cell centres of an even partition, so the
 *       sample is symmetric and never hugs an edge.</li>
 * </ol>
 * When U R / C is a square number this is the regular lattice: 144 of 24 x 24 keeps rows and
 * columns 1, 3, ..., 23 (stride 2); 64 keeps 1, 4, ..., 22 (stride 3).
 */
public record UniformSelector() implements TokenSelector {

    @Override
    public String name() {
        return "uniform";
    }

    @Override
    public TokenSelection select(Backend backend, VisualFrame frame, int budget) {
        return new TokenSelection(frame.frame(), frame.grid(), sample(frame.grid(), budget), null);
    }

    /** The kept raster indices of the rule above, ascending. */
    public static int[] sample(TokenGrid grid, int budget) {
        int rows = grid.rows();
        int cols = grid.cols();
        int n = grid.size();
        int u = Math.min(budget, n);
        if (u < 0) {
            throw new IllegalArgumentException("cannot keep a negative number of tokens: " + budget);
        }
        int[] kept = new int[u];
        if (u == 0) {
            return kept;
        }
        int h = (int) Math.max(1, Math.min(rows, Math.round(Math.sqrt((double) u * rows / cols))));
        h = Math.max(h, (u + cols - 1) / cols);
        int base = u / h;
        int extra = u % h;
        int next = 0;
        for (int k = 0; k < h; k++) {
            int r = (int) Math.floor((k + 0.5) * rows / h);
            int m = base + (k < extra ? 1 : 0);
            for (int j = 0; j < m; j++) {
                int c = (int) Math.floor((j + 0.5) * cols / m);
                kept[next++] = r * cols + c;
            }
        }
        return kept;
    }
}
