package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.RgbImage;

/**
 * Turns a decoded RGB image into a vision encoder's {@code pixel_values}, exactly as the
 * transformers image processor named in the model's config does on its PIL backend
 * ({@code *ImageProcessorPil}, the path transformers 5.x takes without torchvision and 4.x's
 * "slow" processors). See the implementations for the class and code path each one matches.
 */
public sealed interface ImageProcessor permits StandardImageProcessor, AnyResImageProcessor {

    /** Processes one image (for LLaVA-OneVision: a single-image prompt, tiled with anyres). */
    ProcessedImage process(RgbImage image);

    /** The settings this processor applies. */
    ImageProcessorConfig config();

    /** The processor for {@code config}'s {@code image_processor_type}. */
    static ImageProcessor of(ImageProcessorConfig config) {
        return switch (config.type()) {
            case CLIP, SIGLIP -> new StandardImageProcessor(config);
            case LLAVA_ONEVISION -> new AnyResImageProcessor(config);
        };
    }
}
