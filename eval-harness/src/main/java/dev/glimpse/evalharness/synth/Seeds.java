package dev.glimpse.evalharness.synth;

import java.util.SplittableRandom;

/**
 * Random streams derived from a seed and a purpose, so that scenes, clips and their questions
 * never share a stream. {@link SplittableRandom}'s algorithm is specified, so the same seed gives
 * the same numbers on every JDK.
 */
final class Seeds {

    static final long SCENE = 0x5CE7E5L;
    static final long CLIP = 0xC11B5L;
    static final long QUESTIONS = 0x9E5710L;
    static final long TEXTURE = 0x7E7L;

    private Seeds() {
    }

    static SplittableRandom random(long seed, long purpose) {
        return new SplittableRandom(mix(seed * 0x9E3779B97F4A7C15L + purpose));
    }

    /** A seed for another purpose derived from {@code seed}. */
    static long derive(long seed, long purpose) {
        return mix(seed ^ mix(purpose));
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
