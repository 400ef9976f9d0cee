package dev.glimpse.evalharness.synth;

import java.util.Objects;
import java.util.Optional;

/**
 * One object of a clip over time: visible from {@code firstFrame} to {@code lastFrame} (inclusive),
 * moving horizontally along its lane at {@code velocityX} pixels per frame and bouncing off the
 * image's sides. Lanes are horizontal bands that never overlap, so objects never occlude each other.
 *
 * @param object     what it looks like (its centre is where it is at {@code firstFrame})
 * @param firstFrame first frame it is visible in
 * @param lastFrame  last frame it is visible in
 * @param velocityX  horizontal speed, pixels per frame (negative: leftwards)
 * @param width      the image width it bounces within
 */
public record Track(SceneObject object, int firstFrame, int lastFrame, double velocityX, int width) {

    public Track {
        Objects.requireNonNull(object, "object");
        if (firstFrame < 0 || lastFrame < firstFrame) {
            throw new IllegalArgumentException("track frames " + firstFrame + ".." + lastFrame);
        }
    }

    public boolean visibleAt(int frame) {
        return frame >= firstFrame && frame <= lastFrame;
    }

    /** Frames it is visible in. */
    public int span() {
        return lastFrame - firstFrame + 1;
    }

    /** The object as drawn in {@code frame}, if visible then. */
    public Optional<SceneObject> at(int frame) {
        if (!visibleAt(frame)) {
            return Optional.empty();
        }
        double half = object.side() / 2 + 1;
        double lo = half;
        double range = width - 2 * half;
        double x = object.centerX() - lo + velocityX * (frame - firstFrame);
        double period = 2 * range;
        double folded = ((x % period) + period) % period;
        double cx = lo + (folded <= range ? folded : period - folded);
        return Optional.of(object.movedTo(cx, object.centerY()));
    }
}
