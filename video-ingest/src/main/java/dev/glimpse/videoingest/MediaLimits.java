package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds on what an input may cost before Glimpse refuses it. Every limit is checked before the
 * expensive work it protects (file size before reading, frame size before decoding, frame count
 * before sampling), and exceeding one throws {@link MediaLimitExceededException} naming the flag.
 *
 * @param maxFileBytes      largest accepted file or upload, in bytes
 * @param maxPixelsPerFrame largest width x height of one frame or image (decompression bombs)
 * @param maxFrames         most frames one request may sample
 * @param maxDuration       longest accepted video
 * @param maxDecodeTime     wall-clock bound on opening and decoding one input, so that no input hangs
 */
public record MediaLimits(long maxFileBytes, long maxPixelsPerFrame, int maxFrames,
                          Duration maxDuration, Duration maxDecodeTime) {

    /** 4 GiB, 8K UHD (7680 x 4320), 2048 frames, 6 hours, 10 minutes. */
    public static final MediaLimits DEFAULTS = new MediaLimits(
            4L << 30, 7680L * 4320, 2048, Duration.ofHours(6), Duration.ofMinutes(10));

    /** Command-line flag for {@link Limit#FILE_BYTES}. */
    public static final String FLAG_MAX_FILE_BYTES = "--max-file-bytes";
    /** Command-line flag for {@link Limit#PIXELS_PER_FRAME}. */
    public static final String FLAG_MAX_PIXELS = "--max-pixels";
    /** Command-line flag for {@link Limit#FRAMES}. */
    public static final String FLAG_MAX_FRAMES = "--max-frames";
    /** Command-line flag for {@link Limit#DURATION}. */
    public static final String FLAG_MAX_DURATION = "--max-duration-seconds";
    /** Command-line flag for {@link Limit#DECODE_TIME}. */
    public static final String FLAG_DECODE_TIMEOUT = "--decode-timeout-seconds";

    /** The limits, each with the command-line flag that raises it. */
    public enum Limit {
        FILE_BYTES(FLAG_MAX_FILE_BYTES, "file size"),
        PIXELS_PER_FRAME(FLAG_MAX_PIXELS, "frame size"),
        FRAMES(FLAG_MAX_FRAMES, "number of requested frames"),
        DURATION(FLAG_MAX_DURATION, "duration"),
        DECODE_TIME(FLAG_DECODE_TIMEOUT, "decoding time");

        private final String flag;
        private final String description;

        Limit(String flag, String description) {
            this.flag = flag;
            this.description = description;
        }

        /** The command-line flag that sets this limit. */
        public String flag() {
            return flag;
        }

        /** What is being limited, in words. */
        public String description() {
            return description;
        }
    }

    public MediaLimits {
        Objects.requireNonNull(maxDuration, "maxDuration");
        Objects.requireNonNull(maxDecodeTime, "maxDecodeTime");
        if (maxFileBytes <= 0 || maxPixelsPerFrame <= 0 || maxFrames <= 0
                || maxDuration.isNegative() || maxDuration.isZero()
                || maxDecodeTime.isNegative() || maxDecodeTime.isZero()) {
            throw new IllegalArgumentException("media limits must be positive: " + this);
        }
        if (maxPixelsPerFrame > RgbImage.MAX_PIXELS) {
            throw new IllegalArgumentException("--max-pixels " + maxPixelsPerFrame + " is above the largest frame Glimpse"
                    + " can hold (" + RgbImage.MAX_PIXELS + " pixels)");
        }
    }

    public MediaLimits withMaxFileBytes(long bytes) {
        return new MediaLimits(bytes, maxPixelsPerFrame, maxFrames, maxDuration, maxDecodeTime);
    }

    public MediaLimits withMaxPixelsPerFrame(long pixels) {
        return new MediaLimits(maxFileBytes, pixels, maxFrames, maxDuration, maxDecodeTime);
    }

    public MediaLimits withMaxFrames(int frames) {
        return new MediaLimits(maxFileBytes, maxPixelsPerFrame, frames, maxDuration, maxDecodeTime);
    }

    public MediaLimits withMaxDuration(Duration duration) {
        return new MediaLimits(maxFileBytes, maxPixelsPerFrame, maxFrames, duration, maxDecodeTime);
    }

    public MediaLimits withMaxDecodeTime(Duration time) {
        return new MediaLimits(maxFileBytes, maxPixelsPerFrame, maxFrames, maxDuration, time);
    }

    void checkFileBytes(String input, long bytes) {
        if (bytes > maxFileBytes) {
            throw new MediaLimitExceededException(input, Limit.FILE_BYTES, bytes + " bytes", maxFileBytes + " bytes");
        }
    }

    void checkPixels(String input, long width, long height) {
        if (width * height > maxPixelsPerFrame) {
            throw new MediaLimitExceededException(input, Limit.PIXELS_PER_FRAME,
                    width + "x" + height + " (" + width * height + " pixels)", maxPixelsPerFrame + " pixels");
        }
    }

    void checkFrames(String input, int frames) {
        if (frames > maxFrames) {
            throw new MediaLimitExceededException(input, Limit.FRAMES, String.valueOf(frames), String.valueOf(maxFrames));
        }
    }

    void checkDuration(String input, double seconds) {
        if (seconds > maxDuration.toMillis() / 1000.0) {
            throw new MediaLimitExceededException(input, Limit.DURATION,
                    String.format(java.util.Locale.ROOT, "%.1f s", seconds), maxDuration.toSeconds() + " s");
        }
    }
}
