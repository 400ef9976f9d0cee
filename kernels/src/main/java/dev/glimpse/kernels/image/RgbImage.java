package dev.glimpse.kernels.image;

import java.math.BigInteger;

/**
 * An 8-bit RGB image: {@code pixels} holds {@code height} rows of {@code width} pixels, each three
 * bytes R, G, B (unsigned), row-major and interleaved with no padding, as
 * {@code numpy.asarray(PIL.Image)} lays out an RGB image. It is both what the video and image
 * decoders produce (decoded frames and still images) and the input of the vision encoder's image
 * processors.
 *
 * <p>The buffer is not copied: callers hand over ownership, and the operations here never write
 * into an image they did not create ({@link #rotatedClockwise} returns a new image, or this one).
 *
 * @param width  width in pixels, positive
 * @param height height in pixels, positive
 * @param pixels {@code 3 * width * height} bytes; shared, not copied
 * @throws ImageSizeException if a side is not positive, the image has more than
 *                            {@link #MAX_PIXELS} pixels, or the buffer is missing or not
 *                            {@code 3 * width * height} bytes
 */
public record RgbImage(int width, int height, byte[] pixels) {

    /** The most pixels an image, a resize target or a padded canvas may have (2^27, e.g. 11585 x 11585). */
    public static final long MAX_PIXELS = 1L << 27;

    public RgbImage {
        checkDimensions("image", width, height);
        if (pixels == null || pixels.length != 3L * width * height) {
            throw new ImageSizeException("a " + width + "x" + height + " RGB image needs " + 3L * width * height
                    + " bytes but its pixel buffer holds " + (pixels == null ? "none" : pixels.length));
        }
    }

    /**
     * A black image (all bytes zero) of the given size.
     *
     * @throws ImageSizeException if a side is not positive or the image would exceed {@link #MAX_PIXELS}
     */
    public static RgbImage black(int width, int height) {
        checkDimensions("image", width, height);
        return new RgbImage(width, height, new byte[3 * width * height]);
    }

    /** The unsigned value (0..255) of channel {@code c} (0 R, 1 G, 2 B) at column {@code x}, row {@code y}. */
    public int get(int x, int y, int c) {
        return pixels[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * This image turned clockwise by {@code degrees}: this image itself for 0, otherwise a new
     * image (sides swapped for 90 and 270).
     *
     * @throws IllegalArgumentException if {@code degrees} is not 0, 90, 180 or 270
     */
    public RgbImage rotatedClockwise(int degrees) {
        if (degrees != 0 && degrees != 90 && degrees != 180 && degrees != 270) {
            throw new IllegalArgumentException("rotation must be 0, 90, 180 or 270: " + degrees);
        }
        if (degrees == 0) {
            return this;
        }
        boolean swap = degrees != 180;
        int w2 = swap ? height : width;
        int h2 = swap ? width : height;
        byte[] out = new byte[pixels.length];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int x2;
                int y2;
                switch (degrees) {
                    case 90 -> { x2 = height - 1 - y; y2 = x; }
                    case 180 -> { x2 = width - 1 - x; y2 = height - 1 - y; }
                    default -> { x2 = y; y2 = width - 1 - x; } // 270
                }
                System.arraycopy(pixels, (y * width + x) * 3, out, (y2 * w2 + x2) * 3, 3);
            }
        }
        return new RgbImage(w2, h2, out);
    }

    /**
     * Checks that a {@code width x height} image may exist: both sides positive and at most
     * {@link #MAX_PIXELS} pixels. Callers use it to vet a size before allocating anything of it;
     * {@code what} names that size in the error (e.g. "image", "resize target", "padded image").
     *
     * @throws ImageSizeException if the size is unusable
     */
    public static void checkDimensions(String what, long width, long height) {
        if (width <= 0 || height <= 0) {
            throw new ImageSizeException(what + " size " + width + "x" + height + " is invalid: both sides must be positive");
        }
        if (width > MAX_PIXELS / height) { // width * height > MAX_PIXELS, without overflowing
            throw new ImageSizeException(what + " size " + width + "x" + height + " has "
                    + BigInteger.valueOf(width).multiply(BigInteger.valueOf(height))
                    + " pixels, over the limit of " + MAX_PIXELS + " (RgbImage.MAX_PIXELS)");
        }
    }
}
