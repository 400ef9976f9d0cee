package dev.glimpse.videoingest;

/**
 * How frames are decoded.
 *
 * @param maxSide    longest side of output frames in pixels, scaled at decode time keeping the
 *                   aspect ratio; 0 keeps the original size
 * @param threads    decoder threads; 0 lets FFmpeg choose from the CPU count
 * @param autoRotate turn frames upright using the container's rotation metadata
 * @param seekMode   when to seek instead of decoding through the video
 */
public record DecodeOptions(int maxSide, int threads, boolean autoRotate, SeekMode seekMode) {

    /** Original size, automatic threads, upright frames, automatic seeking. */
    public static final DecodeOptions DEFAULTS = new DecodeOptions(0, 0, true, SeekMode.AUTO);

    /** Whether to jump to keyframes or decode every frame. */
    public enum SeekMode {
        /**
         * Seek when the plan asks for far fewer frames than the video has (fewer than one in
         * {@value VideoDecoder#SEEK_RATIO}) and the next target lies beyond the next keyframe;
         * decode sequentially otherwise.
         */
        AUTO,
        /** Always seek to the keyframe before each target that is not reachable by decoding on. */
        SEEK,
        /** Never seek: decode from the start through the last target. */
        SEQUENTIAL
    }

    public DecodeOptions {
        if (maxSide < 0 || threads < 0) {
            throw new IllegalArgumentException("maxSide and threads must be >= 0");
        }
        java.util.Objects.requireNonNull(seekMode, "seekMode");
    }

    public DecodeOptions withMaxSide(int side) {
        return new DecodeOptions(side, threads, autoRotate, seekMode);
    }

    public DecodeOptions withThreads(int count) {
        return new DecodeOptions(maxSide, count, autoRotate, seekMode);
    }

    public DecodeOptions withAutoRotate(boolean rotate) {
        return new DecodeOptions(maxSide, threads, rotate, seekMode);
    }

    public DecodeOptions withSeekMode(SeekMode mode) {
        return new DecodeOptions(maxSide, threads, autoRotate, mode);
    }
}
