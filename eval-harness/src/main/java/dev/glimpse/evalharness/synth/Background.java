package dev.glimpse.evalharness.synth;

import java.util.Locale;
import java.util.Objects;

/**
 * A scene's backdrop: muted (low-saturation, mid-brightness) colours so that every object colour,
 * white and black included, stands out, with texture so that a blank-patch detector cannot find
 * the objects trivially. The renderer draws it from these parameters alone.
 *
 * @param style    gradient, stripes or blotchy value noise between {@code colorA} and {@code colorB}
 * @param colorA   first colour, {@code 0xRRGGBB}
 * @param colorB   second colour, {@code 0xRRGGBB}
 * @param angle    gradient or stripe direction, radians
 * @param period   stripe period or noise cell size, pixels
 * @param grain    per-pixel noise amplitude (values in {@code [-grain, grain]} added to each channel)
 * @param clutter  thin line segments and dots in muted colours drawn over the texture
 * @param seed     seed of the grain, noise and clutter
 */
public record Background(Style style, int colorA, int colorB, double angle, double period, int grain, int clutter,
                         long seed) {

    /** The texture under the clutter. */
    public enum Style {
        GRADIENT, STRIPES, NOISE;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Background {
        Objects.requireNonNull(style, "style");
        if (period <= 0 || grain < 0 || clutter < 0) {
            throw new IllegalArgumentException("background: period must be > 0, grain and clutter >= 0");
        }
    }
}
