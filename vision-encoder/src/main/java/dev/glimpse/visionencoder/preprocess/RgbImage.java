package dev.glimpse.visionencoder.preprocess;

/**
 * An 8-bit RGB image, the input of every {@link ImageProcessor}: {@code pixels} holds
 * {@code height} rows of {@code width} pixels, each three bytes R, G, B (unsigned), row-major
 * and interleaved, as {@code numpy.asarray(PIL.Image)} lays out an RGB image.
 *
 * <p>The buffer is not copied: callers hand over ownership, and nothing in this package writes
 * into an image it did not create.
 *
 * @throws ImageSizeException if a side is not positive, the image has more than
 *                            {@link #MAX_PIXELS} pixels, or the buffer is not {@code 3 * width * height} bytes
 */
public record RgbImage(int width, int height, byte[] pixels) {

    /** The most pixels an input, a resize target or a padded canvas may have (2^27, e.g. 11585 x 11585). */
    public static final long MAX_PIXELS = 1L << 27;

    public RgbImage {
        checkDimensions("image", width, height);
        if (pixels == null || pixels.length != 3L * width * height) {
            throw new ImageSizeException("a " + width + "x" + height + " RGB image needs " + 3L * width * height
                    + " bytes but its pixel buffer holds " + (pixels == null ? "none" : pixels.length));
        }
    }

    /** A black image (all bytes zero) of the given size. */
    public static RgbImage black(int width, int height) {
        checkDimensions("image", width, height);
        return new RgbImage(width, height, new byte[3 * width * height]);
    }

    /** The unsigned value of channel {@code c} (0 R, 1 G, 2 B) at column {@code x}, row {@code y}. */
    public int get(int x, int y, int c) {
        return pixels[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * Checks that a {@code width x height} image may exist: both sides positive and at most
     * {@link #MAX_PIXELS} pixels. {@code what} names it in the error (e.g. "resize target").
     */
    static void checkDimensions(String what, long width, long height) {
        if (width <= 0 || height <= 0) {
            throw new ImageSizeException(what + " size " + width + "x" + height + " is invalid: both sides must be positive");
        }
        if (width * height > MAX_PIXELS) {
            throw new ImageSizeException(what + " size " + width + "x" + height + " has " + width * height
                    + " pixels, over the limit of " + MAX_PIXELS + " (RgbImage.MAX_PIXELS)");
        }
    }
}
