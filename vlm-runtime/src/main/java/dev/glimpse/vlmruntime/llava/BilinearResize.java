package dev.glimpse.vlmruntime.llava;

/**
 * {@code torch.nn.functional.interpolate(x, size=(outH, outW), mode="bilinear", align_corners=False)}
 * (no antialiasing) over a grid of feature vectors, as LLaVA-OneVision uses it to shrink anyres
 * grids ({@code pack_image_features}) and to pool video frames ({@code apply_pooling}). The grid
 * is token-major, {@code [H, W, D]} (HF permutes to {@code [D, H, W]} first; each channel is
 * interpolated independently, so the layouts give the same values).
 *
 * <p>Arithmetic follows ATen's CPU kernel ({@code UpSampleKernel.cpp}) in float: scale
 * {@code in / out}, source coordinate {@code (dst + 0.5) * scale - 0.5} clamped at 0, the upper
 * neighbour clamped to the last row/column, weights {@code 1 - lambda} and {@code lambda}.
 */
public final class BilinearResize {

    private BilinearResize() {
    }

    /**
     * The same resize as a matrix [outH * outW, inH * inW] over token-major grids: row o holds the
     * weight of every input token in output token o (the products of the row and column weights
     * above, summed where a clamped neighbour repeats). A device multiplies a grid by it as one GEMM;
     * the sums then run in another order than {@link #resize}'s, so results agree to rounding.
     */
    public static float[] matrix(int inH, int inW, int outH, int outW) {
        if (inH < 1 || inW < 1 || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("bilinear resize matrix from " + inH + "x" + inW + " to " + outH + "x" + outW);
        }
        float[] m = new float[outH * outW * inH * inW];
        int in = inH * inW;
        forEachCell(inH, inW, outH, outW, (token, y0, y1, ly0, ly1, x0, x1, lx0, lx1) -> {
            int row = token * in;
            m[row + y0 * inW + x0] += ly0 * lx0;
            m[row + y0 * inW + x1] += ly0 * lx1;
            m[row + y1 * inW + x0] += ly1 * lx0;
            m[row + y1 * inW + x1] += ly1 * lx1;
        });
        return m;
    }

    /** Resizes {@code grid} [inH, inW, dim] to a new [outH, outW, dim]. */
    public static float[] resize(float[] grid, int inH, int inW, int dim, int outH, int outW) {
        if (grid.length != (long) inH * inW * dim || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("bilinear resize of a " + inH + "x" + inW + "x" + dim + " grid ("
                    + grid.length + " values) to " + outH + "x" + outW);
        }
        float[] out = new float[outH * outW * dim];
        forEachCell(inH, inW, outH, outW, (token, y0, y1, ly0, ly1, x0, x1, lx0, lx1) -> {
            int p00 = (y0 * inW + x0) * dim;
            int p01 = (y0 * inW + x1) * dim;
            int p10 = (y1 * inW + x0) * dim;
            int p11 = (y1 * inW + x1) * dim;
            int o = token * dim;
            for (int c = 0; c < dim; c++) {
                out[o + c] = ly0 * (lx0 * grid[p00 + c] + lx1 * grid[p01 + c])
                        + ly1 * (lx0 * grid[p10 + c] + lx1 * grid[p11 + c]);
            }
        });
        return out;
    }

    /**
     * Calls {@code cell} for every output token {@code oy * outW + ox}, row by row, with its upper-left
     * and lower-right source neighbours (rows y0, y1; columns x0, x1) and their weights.
     */
    private static void forEachCell(int inH, int inW, int outH, int outW, Cell cell) {
        Taps rows = Taps.of(inH, outH);
        Taps cols = Taps.of(inW, outW);
        for (int oy = 0; oy < outH; oy++) {
            int y0 = rows.lo[oy];
            int y1 = rows.hi[oy];
            float ly0 = rows.wLo[oy];
            float ly1 = rows.wHi[oy];
            for (int ox = 0; ox < outW; ox++) {
                cell.at(oy * outW + ox, y0, y1, ly0, ly1, cols.lo[ox], cols.hi[ox], cols.wLo[ox], cols.wHi[ox]);
            }
        }
    }

    /** One output token of {@link #forEachCell}: its index, source rows and columns, and their weights. */
    @FunctionalInterface
    private interface Cell {
        void at(int token, int y0, int y1, float ly0, float ly1, int x0, int x1, float lx0, float lx1);
    }

    /**
     * Along one axis resized from {@code in} to {@code out} positions: for output position o, the
     * lower and upper source neighbours and their weights ({@code 1 - lambda}, {@code lambda}).
     */
    private record Taps(int[] lo, int[] hi, float[] wLo, float[] wHi) {

        static Taps of(int in, int out) {
            int[] lo = new int[out];
            int[] hi = new int[out];
            float[] wLo = new float[out];
            float[] wHi = new float[out];
            float scale = (float) in / out;
            for (int o = 0; o < out; o++) {
                float src = Math.max((o + 0.5f) * scale - 0.5f, 0f);
                int i0 = (int) src;
                lo[o] = i0;
                hi[o] = i0 + (i0 < in - 1 ? 1 : 0);
                wHi[o] = src - i0;
                wLo[o] = 1f - wHi[o];
            }
            return new Taps(lo, hi, wLo, wHi);
        }
    }
}
