package dev.glimpse.kernels.image;

/**
 * An image, or a size something is about to be made at (a resize target, a padded canvas), is
 * unusable: a side that is zero or negative, a pixel buffer that does not match the dimensions,
 * or more pixels than {@link RgbImage#MAX_PIXELS}. Thrown before anything of that size is
 * allocated.
 */
public class ImageSizeException extends IllegalArgumentException {

    public ImageSizeException(String message) {
        super(message);
    }
}
