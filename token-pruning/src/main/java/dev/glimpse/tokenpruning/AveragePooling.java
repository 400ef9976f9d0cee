package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

/**
 * {@code pool}: 2 x 2 average pooling of a frame's patch features, a feature transform rather than
 * a selection: an R x C grid becomes {@code ceil(R/2) x ceil(C/2)}, cell (i, j) the mean of the
 * features of rows {@code 2i, 2i+1} and columns {@code 2j, 2j+1}. On odd sides the last window is
 * partial and averages only the cells inside the grid (PyTorch {@code avg_pool2d(2, ceil_mode=True)}
 * without padding). 576 tokens (24 x 24) become 144 (12 x 12).
 *
 * <p>Runs on the backend with four row gathers, adds and a scale: a partial window gathers its
 * in-grid cells twice (indices clamped to the grid), which weights them exactly as the mean of
 * the cells present.
 */
public record AveragePooling() implements PruningStrategy {

    @Override
    public String name() {
        return "pool";
    }

    @Override
    public HookPoint hookPoint() {
        return HookPoint.PRE_PROJECTOR;
    }

    /** The pooled grid of {@code grid}. */
    public static TokenGrid pooledGrid(TokenGrid grid) {
        return new TokenGrid((grid.rows() + 1) / 2, (grid.cols() + 1) / 2);
    }

    /**
     * Pools {@code features} [grid.size(), D] (F32, rows in raster order) into a new tensor
     * [pooled.size(), D] on the backend, which the caller owns.
     */
    public PooledFeatures pool(Backend backend, Tensor features, TokenGrid grid) {
        if (features.rank() != 2 || features.dim(0) != grid.size()) {
            throw new IllegalArgumentException("pool: expected features [" + grid.size() + ", D] for a " + grid
                    + " grid, got " + features);
        }
        TokenGrid pooled = pooledGrid(grid);
        int d = features.dim(1);
        int m = pooled.size();
        Tensor out = backend.allocate(DType.F32, m, d);
        try (Tensor a = backend.allocate(DType.F32, m, d); Tensor b = backend.allocate(DType.F32, m, d)) {
            backend.gatherRows(features, corner(grid, pooled, 0, 0), a);
            backend.gatherRows(features, corner(grid, pooled, 0, 1), b);
            backend.add(a, b, out);
            backend.gatherRows(features, corner(grid, pooled, 1, 0), a);
            backend.add(out, a, b);
            backend.gatherRows(features, corner(grid, pooled, 1, 1), a);
            backend.add(b, a, out);
            backend.scale(out, 0.25f, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return new PooledFeatures(out, pooled);
    }

    /** For each pooled cell, the source row of window offset (dr, dc), clamped into the grid. */
    private static int[] corner(TokenGrid grid, TokenGrid pooled, int dr, int dc) {
        int[] rows = new int[pooled.size()];
        for (int i = 0; i < pooled.rows(); i++) {
            int r = Math.min(2 * i + dr, grid.rows() - 1);
            for (int j = 0; j < pooled.cols(); j++) {
                int c = Math.min(2 * j + dc, grid.cols() - 1);
                rows[i * pooled.cols() + j] = grid.index(r, c);
            }
        }
        return rows;
    }

    /**
     * Pooled features and their grid; owns {@code features}.
     *
     * @param features [grid.size(), D] F32 on the backend
     * @param grid     the pooled grid; cell (i, j) covers source rows 2i..2i+1, columns 2j..2j+1
     */
    public record PooledFeatures(Tensor features, TokenGrid grid) implements AutoCloseable {
        @Override
        public void close() {
            features.close();
        }
    }
}
