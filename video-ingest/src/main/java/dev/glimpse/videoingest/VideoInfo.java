package dev.glimpse.videoingest;

/**
 * What a video is, as read from its container and first frames.
 *
 * @param container       demuxer name, e.g. {@code mov,mp4,m4a,3gp,3g2,mj2} or {@code matroska,webm}
 * @param codec           video codec name, e.g. {@code h264}, {@code vp9}, {@code mjpeg}
 * @param width           coded width in pixels (before rotation)
 * @param height          coded height in pixels (before rotation)
 * @param rotation        clockwise degrees (0, 90, 180, 270) to turn frames upright, from the
 *                        container's display matrix
 * @param fps             average frame rate
 * @param durationSeconds duration of the video stream
 * @param frameCount      number of frames: the container's count, or {@code duration x fps} when
 *                        the container has none (see {@link #frameCountExact()})
 * @param frameCountExact whether {@code frameCount} came from the container rather than an estimate
 */
public record VideoInfo(String container, String codec, int width, int height, int rotation,
                        double fps, double durationSeconds, long frameCount, boolean frameCountExact) {

    /** Width of upright frames, after applying {@link #rotation()}. */
    public int displayWidth() {
        return rotation % 180 == 0 ? width : height;
    }

    /** Height of upright frames, after applying {@link #rotation()}. */
    public int displayHeight() {
        return rotation % 180 == 0 ? height : width;
    }
}
