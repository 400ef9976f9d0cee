package dev.glimpse.evalharness.synth;

import java.awt.Color;
import java.util.SplittableRandom;

/** Random colours for backgrounds (muted) and object fills (jittered around a colour class). */
final class Palette {

    private static final int FILL_JITTER = 12;

    private Palette() {
    }

    /** A low-saturation, mid-brightness colour, {@code 0xRRGGBB}. */
    static int muted(SplittableRandom rng) {
        float hue = (float) rng.nextDouble();
        float saturation = (float) (0.08 + 0.2 * rng.nextDouble());
        float brightness = (float) (0.38 + 0.3 * rng.nextDouble());
        return Color.HSBtoRGB(hue, saturation, brightness) & 0xFFFFFF;
    }

    /** A muted colour near {@code base} in brightness, for the second colour of a texture. */
    static int mutedNear(SplittableRandom rng, int base) {
        float[] hsb = Color.RGBtoHSB(base >> 16 & 0xFF, base >> 8 & 0xFF, base & 0xFF, null);
        float brightness = (float) Math.clamp(hsb[2] + (rng.nextDouble() - 0.5) * 0.2, 0.35, 0.7);
        float saturation = (float) (0.08 + 0.2 * rng.nextDouble());
        return Color.HSBtoRGB((float) rng.nextDouble(), saturation, brightness) & 0xFFFFFF;
    }

    /** {@code color}'s nominal fill with each channel moved by up to {@value #FILL_JITTER}. */
    static int jittered(SplittableRandom rng, ObjectColor color) {
        int rgb = color.rgb();
        int out = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int v = Math.clamp((rgb >> shift & 0xFF) + rng.nextInt(-FILL_JITTER, FILL_JITTER + 1), 0, 255);
            out |= v << shift;
        }
        return out;
    }
}
