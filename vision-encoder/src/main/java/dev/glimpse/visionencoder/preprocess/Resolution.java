package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.ImageSizeException;

/**
 * A height and a width in pixels, in that order as transformers writes them (crop sizes, grid
 * pinpoints, {@code image_sizes}).
 */
public record Resolution(int height, int width) {

    public Resolution {
        if (height <= 0 || width <= 0) {
            throw new ImageSizeException("resolution " + height + "x" + width + " (height x width) must be positive");
        }
    }
}
