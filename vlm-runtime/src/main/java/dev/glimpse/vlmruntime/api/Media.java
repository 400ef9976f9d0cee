package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.image.RgbImage;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a question is about: nothing, one image (a file, encoded bytes, or decoded pixels), or a
 * video file sampled to a number of frames (uniformly, first and last frame included, as
 * lmms-eval samples), or frames already sampled from a video. Image files and bytes are decoded
 * with EXIF orientation applied; video frames are fed to LLaVA-OneVision as a video and to plain
 * LLaVA as that many images.
 */
public sealed interface Media {

    /** Text only. */
    record None() implements Media {
    }

    /** Decoded pixels. */
    record Pixels(RgbImage image) implements Media {
        public Pixels {
            Objects.requireNonNull(image, "image");
        }
    }

    /** An image file (jpg, png, webp, bmp, gif). */
    record ImageFile(Path path) implements Media {
        public ImageFile {
            Objects.requireNonNull(path, "path");
        }
    }

    /** An encoded image in memory; {@code name} is used in messages. Not copied. */
    record ImageBytes(String name, byte[] bytes) implements Media {
        public ImageBytes {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(bytes, "bytes");
        }
    }

    /** A video file and the number of frames to sample from it. */
    record VideoFile(Path path, int frames) implements Media {
        public VideoFile {
            Objects.requireNonNull(path, "path");
            if (frames < 1) {
                throw new IllegalArgumentException("--frames must be >= 1, got " + frames);
            }
        }
    }

    /**
     * Frames already sampled from a video (e.g. by {@link VisionLanguageModel#pictures} of a
     * {@link VideoFile}), asked about as that video without decoding it again, so a planner that
     * scored the frames and the answer share one decode. The list is not copied.
     */
    record VideoFrames(List<RgbImage> frames) implements Media {
        public VideoFrames {
            Objects.requireNonNull(frames, "frames");
            if (frames.isEmpty()) {
                throw new IllegalArgumentException("a video needs at least one frame");
            }
        }
    }

    static Media none() {
        return new None();
    }

    static Media image(RgbImage image) {
        return new Pixels(image);
    }

    static Media imageFile(Path path) {
        return new ImageFile(path);
    }

    static Media imageBytes(String name, byte[] bytes) {
        return new ImageBytes(name, bytes);
    }

    static Media video(Path path, int frames) {
        return new VideoFile(path, frames);
    }

    static Media videoFrames(List<RgbImage> frames) {
        return new VideoFrames(frames);
    }

    /** Whether this is a video (a file to sample or its sampled frames), whose pictures are frames of one clip. */
    default boolean isVideo() {
        return this instanceof VideoFile || this instanceof VideoFrames;
    }
}
