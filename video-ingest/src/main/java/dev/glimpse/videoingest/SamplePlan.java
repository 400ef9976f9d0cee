package dev.glimpse.videoingest;

import java.util.List;

/**
 * The frames to decode, in presentation order, and the sampler that chose them (report it with
 * results: harnesses differ in how they pick frames).
 *
 * @param sampler the sampler's name and parameters, e.g. {@code uniform(32)}
 * @param targets the frames, sorted by time; a time may repeat when the video is shorter than the
 *                request (as with numpy's linspace in lmms-eval)
 */
public record SamplePlan(String sampler, List<SampleTarget> targets) {

    public SamplePlan {
        targets = List.copyOf(targets);
        for (int i = 1; i < targets.size(); i++) {
            if (targets.get(i).seconds() < targets.get(i - 1).seconds()) {
                throw new IllegalArgumentException("sample targets must be in time order: " + targets);
            }
        }
    }

    /** Number of frames planned. */
    public int size() {
        return targets.size();
    }
}
