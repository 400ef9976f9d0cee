package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;

/**
 * One decoded, upright RGB video frame.
 *
 * @param index            frame number in the video, from its presentation time and the average
 *                         frame rate ({@code round(timestamp x fps)}), exact for constant-rate video
 * @param timestampSeconds the frame's true presentation time, from the start of the video stream
 * @param image            the pixels, scaled to the requested maximum side and rotated upright
 */
public record Frame(long index, double timestampSeconds, RgbImage image) {
}
