package dev.glimpse.evalharness.synth;

import java.util.Locale;

/**
 * Object sizes: the side of the square a shape is drawn in, in pixels of a 224-pixel image (scaled
 * with the image's shorter side). A {@link #TINY} object spans about one 14- or 16-pixel patch and
 * touches at most four.
 */
public enum SizeClass {
    TINY(10, 14), SMALL(18, 28), MEDIUM(32, 46), LARGE(50, 68);

    private final int min;
    private final int max;

    SizeClass(int min, int max) {
        this.min = min;
        this.max = max;
    }

    /** The smallest side at a 224-pixel reference, inclusive. */
    public int min() {
        return min;
    }

    /** The largest side at a 224-pixel reference, inclusive. */
    public int max() {
        return max;
    }

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
