package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.image.RgbImage;

import java.util.List;

/**
 * The decoded pictures of one prompt: no media, images (each matched to one image placeholder, in
 * order), or the frames of one video (matched to the video placeholder; LLaVA-OneVision only).
 */
public sealed interface VisualInput {

    VisualInput NONE = new Images(List.of());

    /** Images in prompt order. */
    record Images(List<RgbImage> images) implements VisualInput {
        public Images {
            images = List.copyOf(images);
        }
    }

    /** The sampled frames of one video, in time order. */
    record Video(List<RgbImage> frames) implements VisualInput {
        public Video {
            frames = List.copyOf(frames);
            if (frames.isEmpty()) {
                throw new IllegalArgumentException("a video needs at least one frame");
            }
        }
    }
}
