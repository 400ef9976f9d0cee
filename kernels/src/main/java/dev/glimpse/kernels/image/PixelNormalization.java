package dev.glimpse.kernels.image;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The per-value steps that turn an 8-bit colour value into a vision encoder's input, as transformers' numpy
 * code performs them: rescale ({@code image_transforms.rescale}: {@code float32(float64(v) * factor)}), then
 * normalize ({@code image_transforms.normalize}: {@code (x - float32(mean)) / float32(std)} in float32); either
 * may be off (a value not rescaled is cast to float32). {@link #value} is the one definition: the image
 * processors apply it on the host, {@code normalizePixels} on a GPU with the same IEEE operations.
 *
 * @param mean per channel (R, G, B)
 * @param std  per channel (R, G, B)
 */
public record PixelNormalization(boolean rescale, double factor, boolean normalize, float[] mean, float[] std) {

    public PixelNormalization {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 channels, got " + mean.length + " and " + std.length);
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The input value of 8-bit value {@code v} (0..255) of channel {@code c}. */
    public float value(int v, int c) {
        float x = rescale ? (float) (v * factor) : v;
        return normalize ? (x - mean[c]) / std[c] : x;
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /**
     * The host form of {@code Backend#normalizePixels}: {@code rgb} U8 {@code [n, h, w, 3]} (rows of interleaved
     * R, G, B) into {@code out} F32 {@code [n, 3, H, W]} (H >= h, W >= w, both packed host tensors): {@link #value}
     * inside the image, 0 in the padding at the bottom and right (transformers pads after normalizing).
     */
    public void writeHost(Tensor rgb, Tensor out) {
        int[] d = checkShapes(rgb, out);
        int n = d[0], h = d[1], w = d[2], planeH = d[3], planeW = d[4];
        float[] row = new float[planeW];
        byte[] px = new byte[w * 3];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < planeH; y++) {
                    Arrays.fill(row, 0f);
                    if (y < h) {
                        long from = rgb.byteOffset() + (((long) i * h + y) * w) * 3;
                        MemorySegment.copy(rgb.segment(), ValueLayout.JAVA_BYTE, from, px, 0, w * 3);
                        for (int x = 0; x < w; x++) {
                            row[x] = value(px[x * 3 + c] & 0xFF, c);
                        }
                    }
                    long at = (((long) i * 3 + c) * planeH + y) * planeW;
                    MemorySegment.copy(row, 0, out.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED,
                            out.byteOffset() + at * Float.BYTES, planeW);
                }
            }
        }
    }

    /**
     * Checks {@code rgb} U8 [n, h, w, 3] and {@code out} F32 [n, 3, H, W] (H >= h, W >= w), both packed;
     * returns {n, h, w, H, W}.
     *
     * @throws TensorException naming what does not fit
     */
    public static int[] checkShapes(Tensor rgb, Tensor out) {
        if (rgb.dtype() != DType.U8 || rgb.rank() != 4 || rgb.dim(3) != 3 || !rgb.isContiguous()) {
            throw new TensorException("normalizePixels: rgb must be packed U8 [n, h, w, 3], got " + rgb);
        }
        if (out.dtype() != DType.F32 || out.rank() != 4 || out.dim(0) != rgb.dim(0) || out.dim(1) != 3
                || out.dim(2) < rgb.dim(1) || out.dim(3) < rgb.dim(2) || !out.isContiguous()) {
            throw new TensorException("normalizePixels: out must be packed F32 [" + rgb.dim(0) + ", 3, >= " + rgb.dim(1)
                    + ", >= " + rgb.dim(2) + "], got " + out + " for rgb " + rgb);
        }
        return new int[] {rgb.dim(0), rgb.dim(1), rgb.dim(2), out.dim(2), out.dim(3)};
    }
}
