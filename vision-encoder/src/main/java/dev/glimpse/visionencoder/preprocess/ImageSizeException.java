package dev.glimpse.visionencoder.preprocess;

/**
 * An image or a resize/pad target has an unusable size: zero or negative sides, a pixel buffer
 * that does not match its dimensions, or more pixels than {@link RgbImage#MAX_PIXELS}. Thrown
 * before anything of that size is allocated.
 */
public class ImageSizeException extends RuntimeException {

    public ImageSizeException(String message) {
        super(message);
    }
}
