package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.DecodeOptions;
import dev.glimpse.videoingest.FrameIterator;
import dev.glimpse.videoingest.FrameSampler;
import dev.glimpse.videoingest.ImageDecoder;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.VideoDecoder;
import dev.glimpse.videoingest.VideoSource;
import dev.glimpse.vlmruntime.llava.VisualInput;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link Media} to decoded pictures through video-ingest: images with EXIF orientation applied,
 * videos sampled with {@link FrameSampler.UniformWithEndpoints} (frames already sampled are taken
 * as they are). Frames become a video for models that take one, else one image each.
 */
final class MediaDecoding {

    private MediaDecoding() {
    }

    static VisualInput decode(Media media, MediaLimits limits, boolean modelTakesVideo) {
        return switch (media) {
            case Media.None n -> VisualInput.NONE;
            case Media.Pixels p -> images(p.image());
            case Media.ImageFile f -> images(ImageDecoder.decode(VideoSource.of(f.path()), limits));
            case Media.ImageBytes b -> images(ImageDecoder.decode(VideoSource.of(b.name(), b.bytes()), limits));
            case Media.VideoFile v -> frames(frames(v, limits), modelTakesVideo);
            case Media.VideoFrames f -> frames(f.frames(), modelTakesVideo);
        };
    }

    /** Frames as a video for models that take one, else one image each. */
    private static VisualInput frames(List<RgbImage> frames, boolean modelTakesVideo) {
        return modelTakesVideo ? new VisualInput.Video(frames) : new VisualInput.Images(frames);
    }

    private static VisualInput images(RgbImage image) {
        return new VisualInput.Images(List.of(image));
    }

    private static List<RgbImage> frames(Media.VideoFile video, MediaLimits limits) {
        List<RgbImage> out = new ArrayList<>();
        try (VideoDecoder decoder = VideoDecoder.open(VideoSource.of(video.path()), limits, DecodeOptions.DEFAULTS);
             FrameIterator it = decoder.frames(new FrameSampler.UniformWithEndpoints(video.frames()).plan(decoder.info()))) {
            while (it.hasNext()) {
                out.add(it.next().image());
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(video.path() + ": no decodable frames");
        }
        return out;
    }
}
