package dev.glimpse.videoingest;

import java.util.Objects;

/**
 * An 8-bit RGB image, pixels interleaved row by row ({@code R,G,B,R,G,B,...}, no padding).
 *
 * @param width  width in pixels
 * @param height height in pixels
 * @param rgb    {@code width * height * 3} bytes; shared, not copied
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        Objects.requireNonNull(rgb, "rgb");
        if (width <= 0 || height <= 0 || rgb.length != width * height * 3) {
            throw new IllegalArgumentException("RGB image " + width + "x" + height + " needs "
                    + width * height * 3 + " bytes, got " + rgb.length);
        }
    }

    /** Channel {@code c} (0 red, 1 green, 2 blue) of pixel (x, y), 0..255. */
    public int channel(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** This image turned clockwise by {@code degrees} (0, 90, 180 or 270). */
    public RgbImage rotatedClockwise(int degrees) {
        if (degrees == 0) {
            return this;
        }
        boolean swap = degrees % 180 != 0;
        int w2 = swap ? height : width;
        int h2 = swap ? width : height;
        byte[] out = new byte[rgb.length];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int x2;
                int y2;
                switch (degrees) {
                    case 90 -> { x2 = height - 1 - y; y2 = x; }
                    case 180 -> { x2 = width - 1 - x; y2 = height - 1 - y; }
                    case 270 -> { x2 = y; y2 = width - 1 - x; }
                    default -> throw new IllegalArgumentException("rotation must be 0, 90, 180 or 270: " + degrees);
                }
                System.arraycopy(rgb, (y * width + x) * 3, out, (y2 * w2 + x2) * 3, 3);
            }
        }
        return new RgbImage(w2, h2, out);
    }
}
