package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.RgbImage;

/**
 * Pillow's {@code Image.resize(size, resample)} for an RGB image, bit for bit: a port of
 * {@code ImagingResample} in {@code libImaging/Resample.c} for 8-bit images, taken the way
 * transformers' {@code image_transforms.resize} calls it (whole-image box, {@code reducing_gap=None}).
 *
 * <p>The algorithm, reproduced step by step:
 * <ul>
 *   <li>Separable convolution: a horizontal pass into an 8-bit intermediate (only the rows the
 *       vertical pass reads), then a vertical pass. A pass is skipped when its side keeps its size;
 *       when both do, the image is returned unchanged (PIL returns a copy). {@code Image.resize}
 *       swaps the order for very tall images (height over 100 x width, being shrunk vertically):
 *       two {@code ImagingResample} calls, vertical then horizontal.</li>
 *   <li>Per output pixel, the kernel is centred at {@code (i + 0.5) * scale} with
 *       {@code scale = in / out}; when downscaling the support grows by {@code scale} and the kernel
 *       is stretched by it (antialiasing); the taps' window is rounded as PIL rounds it
 *       ({@code (int)(center -/+ support + 0.5)}, clamped to the image).</li>
 *   <li>The weights of each output pixel are normalised to sum 1 in double precision, then turned
 *       into fixed point with {@code PRECISION_BITS = 32 - 8 - 2 = 22} fractional bits, rounding half
 *       away from zero.</li>
 *   <li>Accumulation is in 32-bit ints starting from {@code 1 << 21} (rounding), and the result is
 *       shifted right by 22 and clipped to [0, 255].</li>
 * </ul>
 * The kernels are {@link ResampleFilter}'s, written as Pillow's C evaluates them.
 */
public final class PillowResize {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double FIXED_ONE = 1 << PRECISION_BITS;

    private PillowResize() {
    }

    /**
     * Resizes {@code src} to {@code width x height} with {@code filter}.
     *
     * @throws ImageSizeException if the target is empty or over {@link RgbImage#MAX_PIXELS} (checked
     *                            before allocating)
     */
    public static RgbImage resize(RgbImage src, int width, int height, ResampleFilter filter) {
        RgbImage.checkDimensions("resize target", width, height);
        if (width == src.width() && height == src.height()) {
            return src;
        }
        if (src.height() > src.width() * 100L && height < src.height()) {
            return resample(resample(src, src.width(), height, filter), width, height, filter);
        }
        return resample(src, width, height, filter);
    }

    /** {@code ImagingResample}: the horizontal pass, then the vertical one, each only if its side changes. */
    private static RgbImage resample(RgbImage src, int width, int height, ResampleFilter filter) {
        boolean needHorizontal = width != src.width();
        boolean needVertical = height != src.height();
        if (!needHorizontal && !needVertical) {
            return src;
        }
        Coefficients horizontal = Coefficients.of(src.width(), width, filter);
        Coefficients vertical = Coefficients.of(src.height(), height, filter);

        byte[] rows = src.pixels();
        int rowsWidth = src.width();
        int firstRow = 0;
        if (needHorizontal) {
            firstRow = vertical.bounds[0];
            int lastRow = vertical.bounds[height * 2 - 2] + vertical.bounds[height * 2 - 1];
            rows = horizontalPass(src.pixels(), src.width(), firstRow, lastRow - firstRow, width, horizontal);
            rowsWidth = width;
        }
        if (needVertical) {
            rows = verticalPass(rows, rowsWidth, firstRow, height, vertical);
        }
        return new RgbImage(width, height, rows);
    }

    private static byte[] horizontalPass(byte[] in, int inWidth, int firstRow, int rowCount, int outWidth,
                                         Coefficients k) {
        byte[] out = new byte[3 * outWidth * rowCount];
        int ksize = k.ksize;
        for (int y = 0; y < rowCount; y++) {
            int inRow = (y + firstRow) * inWidth * 3;
            int outRow = y * outWidth * 3;
            for (int xx = 0; xx < outWidth; xx++) {
                int xmin = k.bounds[xx * 2];
                int xmax = k.bounds[xx * 2 + 1];
                int kBase = xx * ksize;
                int ss0 = 1 << (PRECISION_BITS - 1);
                int ss1 = ss0;
                int ss2 = ss0;
                for (int x = 0; x < xmax; x++) {
                    int w = k.fixed[kBase + x];
                    int p = inRow + (x + xmin) * 3;
                    ss0 += (in[p] & 0xFF) * w;
                    ss1 += (in[p + 1] & 0xFF) * w;
                    ss2 += (in[p + 2] & 0xFF) * w;
                }
                int o = outRow + xx * 3;
                out[o] = clip8(ss0);
                out[o + 1] = clip8(ss1);
                out[o + 2] = clip8(ss2);
            }
        }
        return out;
    }

    /** {@code in} holds rows starting at source row {@code firstRow}; bounds are in source rows. */
    private static byte[] verticalPass(byte[] in, int width, int firstRow, int outHeight, Coefficients k) {
        byte[] out = new byte[3 * width * outHeight];
        int ksize = k.ksize;
        int rowBytes = width * 3;
        for (int yy = 0; yy < outHeight; yy++) {
            int ymin = k.bounds[yy * 2] - firstRow;
            int ymax = k.bounds[yy * 2 + 1];
            int kBase = yy * ksize;
            int outRow = yy * rowBytes;
            for (int i = 0; i < rowBytes; i++) {
                int ss = 1 << (PRECISION_BITS - 1);
                int p = ymin * rowBytes + i;
                for (int y = 0; y < ymax; y++) {
                    ss += (in[p] & 0xFF) * k.fixed[kBase + y];
                    p += rowBytes;
                }
                out[outRow + i] = clip8(ss);
            }
        }
        return out;
    }

    private static byte clip8(int v) {
        int shifted = v >> PRECISION_BITS;
        return (byte) (shifted < 0 ? 0 : Math.min(shifted, 255));
    }

    /**
     * Pillow's {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}: for each output
     * index, the first source index and tap count ({@code bounds}) and the fixed-point weights.
     */
    private record Coefficients(int ksize, int[] bounds, int[] fixed) {

        static Coefficients of(int inSize, int outSize, ResampleFilter filter) {
            // Pillow passes the box as floats: (in1 - in0) is a float subtraction before widening.
            float in0 = 0f;
            float in1 = inSize;
            double scale = (double) (in1 - in0) / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support() * filterScale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            long total = (long) outSize * ksize;
            if (total > Integer.MAX_VALUE - 8) {
                throw new ImageSizeException("resizing " + inSize + " pixels to " + outSize
                        + " needs " + total + " filter taps, more than an array holds");
            }
            int[] bounds = new int[outSize * 2];
            int[] fixed = new int[(int) total];
            double[] k = new double[ksize];
            double ss = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = in0 + (xx + 0.5) * scale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) {
                    xmin = 0;
                }
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) {
                    xmax = inSize;
                }
                xmax -= xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double w = filter.kernel((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++) {
                    double w = ww != 0.0 ? k[x] / ww : k[x];
                    fixed[xx * ksize + x] = w < 0 ? (int) (-0.5 + w * FIXED_ONE) : (int) (0.5 + w * FIXED_ONE);
                }
                bounds[xx * 2] = xmin;
                bounds[xx * 2 + 1] = xmax;
            }
            return new Coefficients(ksize, bounds, fixed);
        }
    }
}
