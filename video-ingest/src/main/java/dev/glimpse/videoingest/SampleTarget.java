package dev.glimpse.videoingest;

/**
 * One frame a sampler asks for.
 *
 * @param index   frame number the sampler chose ({@code -1} when it chose a time, not a frame)
 * @param seconds presentation time to decode, from the start of the video stream
 */
public record SampleTarget(long index, double seconds) {
}
