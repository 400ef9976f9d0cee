package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.PixelNormalization;
import dev.glimpse.kernels.image.RgbImage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The per-image steps of transformers' {@code PilBackend._preprocess}, in its order: resize
 * ({@code PilBackend.resize}: the config's {@link SizeSpec}, then PIL), center crop, rescale,
 * normalize. The first two work on 8-bit pixels; the last two produce float32 exactly as numpy does:
 * <ul>
 *   <li>rescale ({@code image_transforms.rescale}): {@code float32(float64(v) * rescale_factor)};</li>
 *   <li>normalize ({@code image_transforms.normalize}): {@code (x - float32(mean)) / float32(std)}
 *       in float32 (an 8-bit image not rescaled is first cast to float32).</li>
 * </ul>
 */
final class PatchPipeline {

    private final ImageProcessorConfig config;
    private final PixelNormalization normalization;

    PatchPipeline(ImageProcessorConfig config) {
        this.config = config;
        float[] mean = new float[3];
        float[] std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = config.imageMean().get(c).floatValue();
            std[c] = config.imageStd().get(c).floatValue();
        }
        this.normalization = new PixelNormalization(config.doRescale(), config.rescaleFactor(), config.doNormalize(), mean,
                std);
    }

    /** Rescale and normalize, value by value. */
    PixelNormalization normalization() {
        return normalization;
    }

    /** Resize (if {@code do_resize}) then center crop (if {@code do_center_crop}). */
    RgbImage resizeAndCrop(RgbImage image) {
        RgbImage out = image;
        if (config.doResize()) {
            Resolution target = config.size().outputSize(out.height(), out.width());
            out = PillowResize.resize(out, target.width(), target.height(), config.resample());
        }
        if (config.doCenterCrop()) {
            out = PixelOps.centerCrop(out, config.cropSize().orElseThrow());
        }
        return out;
    }

    /**
     * Writes rescaled and normalized values of {@code image} channel-first into
     * {@code dst}, {@code [3, height, width]} starting at element {@code offset}, where rows are
     * {@code rowStride} elements apart and channel planes {@code height * rowStride} (a padded plane
     * may be wider than the image).
     */
    void writePixelValues(RgbImage image, MemorySegment dst, long offset, int planeHeight, int rowStride) {
        int w = image.width();
        int h = image.height();
        byte[] px = image.pixels();
        float[] row = new float[w];
        long plane = (long) planeHeight * rowStride;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                int p = y * w * 3 + c;
                for (int x = 0; x < w; x++, p += 3) {
                    row[x] = normalization.value(px[p] & 0xFF, c);
                }
                long at = offset + c * plane + (long) y * rowStride;
                MemorySegment.copy(row, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, at * Float.BYTES, w);
            }
        }
    }

}
