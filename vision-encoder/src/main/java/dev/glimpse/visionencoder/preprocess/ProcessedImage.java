package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.Tensor;

/**
 * One image's {@code pixel_values} and its original size.
 *
 * @param pixelValues F32 {@code [3, H, W]} (CLIP, SigLIP) or {@code [N, 3, H, W]} (LLaVA-OneVision:
 *                    the resized whole image first, then the anyres tiles row by row); owned by the
 *                    caller, who closes it
 * @param imageSize   the input's (height, width), transformers' {@code image_sizes} entry
 */
public record ProcessedImage(Tensor pixelValues, Resolution imageSize) implements AutoCloseable {

    @Override
    public void close() {
        pixelValues.close();
    }
}
