package dev.glimpse.evalharness.synth;

import java.util.Locale;

/** Which half of the benchmark: SynthScenes images, SynthClips videos, or both. */
public enum MediaKind {
    IMAGES, CLIPS, ALL;

    public boolean includesImages() {
        return this != CLIPS;
    }

    public boolean includesClips() {
        return this != IMAGES;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind called {@code key}; an IllegalArgumentException naming the choices otherwise. */
    public static MediaKind ofKey(String key) {
        for (MediaKind k : values()) {
            if (k.key().equals(key.strip().toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("--kind '" + key + "' is not a media kind; use images, clips or all");
    }
}
