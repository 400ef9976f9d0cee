package dev.glimpse.app.serve;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.MediaLimits;

import java.time.Duration;

/**
 * What one request and the whole service may cost. Each limit is named by the {@code glimpse serve}
 * flag that sets it, and a value out of range is refused with that name.
 *
 * @param maxRequestBytes largest request body (upload or JSON with base64 media), enforced while reading
 * @param maxConcurrent   requests running the model at once (the model itself runs one call at a time)
 * @param maxQueued       admitted requests waiting for the model; beyond running + queued a request gets 503
 * @param maxFrames       most frames a video request may sample
 * @param maxNewTokens    most tokens a request may ask to generate
 * @param shutdownGrace   how long in-flight requests may take to finish after SIGINT/SIGTERM
 * @param maxPixels       largest image or video frame, width x height, checked before it is decoded
 * @param maxDuration     longest video, checked from its container before frames are decoded
 * @param decodeTimeout   wall-clock bound on opening and decoding one upload
 */
record ServeLimits(long maxRequestBytes, int maxConcurrent, int maxQueued, int maxFrames, int maxNewTokens,
                   Duration shutdownGrace, long maxPixels, Duration maxDuration, Duration decodeTimeout) {

    /** Largest field value that is not media (question, budget, ...). */
    static final int MAX_TEXT_FIELD_CHARS = 8192;
    /** Most running or queued places: each is a request thread of the server. */
    static final int MAX_PLACES = 4096;
    /** The longest duration or timeout a flag may give, a year: far beyond any video, and no overflow in nanoseconds. */
    static final long MAX_SECONDS = 366L * 24 * 3600;

    public ServeLimits {
        inRange("--max-request-bytes", maxRequestBytes, 1, Long.MAX_VALUE);
        inRange("--max-concurrent", maxConcurrent, 1, MAX_PLACES);
        inRange("--max-queued", maxQueued, 0, MAX_PLACES);
        inRange("--max-frames", maxFrames, 1, MediaLimits.DEFAULTS.maxFrames());
        inRange("--max-new-tokens", maxNewTokens, 1, Integer.MAX_VALUE);
        inRange("--shutdown-grace-seconds", shutdownGrace.toSeconds(), 0, Integer.MAX_VALUE);
        inRange(MediaLimits.FLAG_MAX_PIXELS, maxPixels, 1, RgbImage.MAX_PIXELS);
        inRange(MediaLimits.FLAG_MAX_DURATION, maxDuration.toSeconds(), 1, MAX_SECONDS);
        inRange(MediaLimits.FLAG_DECODE_TIMEOUT, decodeTimeout.toSeconds(), 1, MAX_SECONDS);
    }

    /** These limits with the runtime's defaults for pixels, duration and decoding time ({@link MediaLimits#DEFAULTS}). */
    ServeLimits(long maxRequestBytes, int maxConcurrent, int maxQueued, int maxFrames, int maxNewTokens,
                Duration shutdownGrace) {
        this(maxRequestBytes, maxConcurrent, maxQueued, maxFrames, maxNewTokens, shutdownGrace,
                MediaLimits.DEFAULTS.maxPixelsPerFrame(), MediaLimits.DEFAULTS.maxDuration(),
                MediaLimits.DEFAULTS.maxDecodeTime());
    }

    /**
     * The limits the model checks whenever it decodes an upload: these pixels, duration, decoding
     * time and frames, and a file no larger than the request body that carried it.
     */
    MediaLimits mediaLimits() {
        return new MediaLimits(maxRequestBytes, maxPixels, maxFrames, maxDuration, decodeTimeout);
    }

    private static void inRange(String flag, long value, long min, long max) {
        if (value < min) {
            throw new IllegalArgumentException(flag + " must be at least " + min + ", got " + value);
        }
        if (value > max) {
            throw new IllegalArgumentException(flag + " must be at most " + max + ", got " + value);
        }
    }
}
