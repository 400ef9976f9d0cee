package dev.glimpse.evalharness.synth;

import java.util.Locale;

/**
 * The object colours, saturated (or pure white and black) so that they stand apart from the
 * muted backgrounds; each object's fill is jittered a little around {@link #rgb()}.
 */
public enum ObjectColor {
    RED(220, 30, 30), GREEN(30, 165, 45), BLUE(35, 65, 225), YELLOW(245, 220, 30),
    PURPLE(140, 40, 185), ORANGE(250, 135, 20), WHITE(250, 250, 250), BLACK(15, 15, 15);

    private final int r;
    private final int g;
    private final int b;

    ObjectColor(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
    }

    /** The word questions and answers use ("red"). */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The nominal colour as {@code 0xRRGGBB}. */
    public int rgb() {
        return r << 16 | g << 8 | b;
    }
}
