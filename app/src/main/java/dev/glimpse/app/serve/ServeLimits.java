package dev.glimpse.app.serve;

import java.time.Duration;

/**
 * What one request and the whole service may cost.
 *
 * @param maxRequestBytes largest request body (upload or JSON with base64 media), enforced while reading
 * @param maxConcurrent   requests running the model at once (the model itself runs one call at a time)
 * @param maxQueued       admitted requests waiting for the model; beyond running + queued a request gets 503
 * @param maxFrames       most frames a video request may sample
 * @param maxNewTokens    most tokens a request may ask to generate
 * @param shutdownGrace   how long in-flight requests may take to finish after SIGINT/SIGTERM
 */
record ServeLimits(long maxRequestBytes, int maxConcurrent, int maxQueued, int maxFrames, int maxNewTokens,
                          Duration shutdownGrace) {

    /** Largest field value that is not media (question, budget, ...). */
    static final int MAX_TEXT_FIELD_CHARS = 8192;

    public ServeLimits {
        if (maxRequestBytes < 1 || maxConcurrent < 1 || maxQueued < 0 || maxFrames < 1 || maxNewTokens < 1
                || shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("serve limits must be positive (queue and grace may be 0): "
                    + "--max-request-bytes " + maxRequestBytes + ", --max-concurrent " + maxConcurrent
                    + ", --max-queued " + maxQueued + ", --max-frames " + maxFrames + ", --max-new-tokens "
                    + maxNewTokens + ", --shutdown-grace-seconds " + shutdownGrace.toSeconds());
        }
    }
}
