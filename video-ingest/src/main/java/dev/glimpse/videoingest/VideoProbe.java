package dev.glimpse.videoingest;

/** Reads a video's properties without decoding its frames. */
public final class VideoProbe {

    private VideoProbe() {
    }

    /**
     * The video's container, codec, size, rotation, frame rate, duration and frame count.
     *
     * @throws MediaException when the input is unreadable, not a video, or over a limit
     */
    public static VideoInfo probe(VideoSource source, MediaLimits limits) {
        try (VideoDecoder decoder = VideoDecoder.open(source, limits, DecodeOptions.DEFAULTS)) {
            return decoder.info();
        }
    }
}
