package dev.glimpse.visionencoder;

/**
 * {@code pixel_values} handed to the encoder do not have the shape or dtype the config asks for
 * ({@code [batch, num_channels, image_size, image_size]}, F32, as the image processor makes them).
 */
public final class PixelValuesException extends IllegalArgumentException {

    public PixelValuesException(String message) {
        super(message);
    }
}
