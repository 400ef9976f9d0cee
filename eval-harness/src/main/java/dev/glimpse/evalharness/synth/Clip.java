package dev.glimpse.evalharness.synth;

import java.util.List;

/**
 * One SynthClips video as ground truth.
 *
 * @param id         {@code "c" + seed}
 * @param seed       the seed it was generated from
 * @param width      frame width, pixels
 * @param height     frame height, pixels
 * @param frames     frame count
 * @param fps        frames per second of the encoded file
 * @param background the static backdrop
 * @param tracks     the objects over time, each with a distinct shape and a distinct colour, and
 *                   distinct first frames
 * @param needle     index in {@code tracks} of the needle: visible in only a few frames
 */
public record Clip(String id, long seed, int width, int height, int frames, double fps, Background background,
                   List<Track> tracks, int needle) {

    public Clip {
        tracks = List.copyOf(tracks);
    }

    /** The objects visible in {@code frame}, as drawn. */
    public List<SceneObject> visibleAt(int frame) {
        return tracks.stream().flatMap(t -> t.at(frame).stream()).toList();
    }

    public Track needleTrack() {
        return tracks.get(needle);
    }
}
