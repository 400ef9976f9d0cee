package dev.glimpse.evalharness.synth;

import java.util.List;

/**
 * One SynthScenes image as ground truth: everything needed to draw it and to answer any question
 * about it.
 *
 * @param id         {@code "s" + seed}
 * @param seed       the seed it was generated from
 * @param width      image width, pixels
 * @param height     image height, pixels
 * @param background the backdrop
 * @param objects    the objects, in drawing order (they never overlap)
 */
public record Scene(String id, long seed, int width, int height, Background background, List<SceneObject> objects) {

    public Scene {
        objects = List.copyOf(objects);
    }
}
