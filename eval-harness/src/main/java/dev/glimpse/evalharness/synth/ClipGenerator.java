package dev.glimpse.evalharness.synth;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Draws SynthClips ground truth from a seed: a static textured background, 2 to 4 ordinary
 * objects that appear at distinct frames and stay for at least {@value #MIN_SPAN} frames, and one
 * needle visible for only {@value #NEEDLE_MIN_SPAN} to {@value #NEEDLE_MAX_SPAN} frames, never the
 * first or last. Every object has its own shape, colour and lane (one of {@value #LANES}
 * horizontal bands), small or medium size, and moves sideways.
 */
public final class ClipGenerator {

    public static final int LANES = 5;
    public static final int MIN_SPAN = 5;
    public static final int NEEDLE_MIN_SPAN = 2;
    public static final int NEEDLE_MAX_SPAN = 3;
    public static final int DEFAULT_FRAMES = 16;
    public static final double DEFAULT_FPS = 4;
    /** Fewest frames a clip may have: below this the needle's span is no longer short next to the others'. */
    public static final int MIN_FRAMES = 12;

    private final int width;
    private final int height;
    private final int frames;
    private final double fps;

    /**
     * Clips of {@code frames} frames ({@value #MIN_FRAMES} or more) of {@code width} x
     * {@code height} pixels at {@code fps}.
     */
    public ClipGenerator(int width, int height, int frames, double fps) {
        if (width < 64 || height < 64 || frames < MIN_FRAMES || !(fps > 0)) {
            throw new IllegalArgumentException("SynthClips needs at least 64 x 64 pixels, " + MIN_FRAMES
                    + " frames and fps > 0, got " + width + " x " + height + ", " + frames + " frames, " + fps + " fps");
        }
        this.width = width;
        this.height = height;
        this.frames = frames;
        this.fps = fps;
    }

    /** The default clips: 224 x 224, 16 frames at 4 fps. */
    public static ClipGenerator standard() {
        return new ClipGenerator(224, 224, DEFAULT_FRAMES, DEFAULT_FPS);
    }

    public int frames() {
        return frames;
    }

    /** The clip of {@code seed}. */
    public Clip generate(long seed) {
        SplittableRandom rng = Seeds.random(seed, Seeds.CLIP);
        Background background = SceneGenerator.randomBackground(rng, Seeds.derive(seed, Seeds.TEXTURE), 2);
        int ordinary = 2 + rng.nextInt(3);
        int count = ordinary + 1;
        List<ShapeKind> shapes = shuffled(rng, List.of(ShapeKind.values()));
        List<ObjectColor> colors = shuffled(rng, List.of(ObjectColor.values()));
        List<Integer> lanes = shuffled(rng, IntStream.range(0, LANES).boxed().toList());
        int needleSpan = NEEDLE_MIN_SPAN + rng.nextInt(NEEDLE_MAX_SPAN - NEEDLE_MIN_SPAN + 1);
        int needleFirst = 1 + rng.nextInt(frames - needleSpan - 1);
        List<Integer> starts = distinctStarts(rng, ordinary, needleFirst);
        int needle = rng.nextInt(count);
        double scale = Math.min(width, height) / 224.0;
        double laneHeight = (double) height / LANES;
        List<Track> tracks = new ArrayList<>();
        for (int i = 0, ordinaryIndex = 0; i < count; i++) {
            SizeClass size = rng.nextBoolean() ? SizeClass.SMALL : SizeClass.MEDIUM;
            double side = Math.min((size.min() + rng.nextInt(size.max() - size.min() + 1)) * scale, laneHeight - 6);
            double cy = (lanes.get(i) + 0.5) * laneHeight;
            double half = side / 2 + 1;
            double cx = half + rng.nextDouble() * (width - 2 * half);
            double speed = (2 + rng.nextDouble() * 8) * scale * (rng.nextBoolean() ? 1 : -1);
            int first;
            int last;
            if (i == needle) {
                first = needleFirst;
                last = needleFirst + needleSpan - 1;
            } else {
                first = starts.get(ordinaryIndex++);
                last = first + MIN_SPAN - 1 + rng.nextInt(frames - first - MIN_SPAN + 1);
            }
            SceneObject o = SceneObject.of(shapes.get(i), colors.get(i), size, Palette.jittered(rng, colors.get(i)),
                    side, cx, cy);
            tracks.add(new Track(o, first, last, speed, width));
        }
        return new Clip("c" + seed, seed, width, height, frames, fps, background, tracks, needle);
    }

    /** {@code n} distinct first frames that leave room for {@value #MIN_SPAN} visible frames, none equal to {@code taken}. */
    private List<Integer> distinctStarts(SplittableRandom rng, int n, int taken) {
        List<Integer> options = new ArrayList<>(IntStream.rangeClosed(0, frames - MIN_SPAN)
                .filter(f -> f != taken).boxed().toList());
        return shuffled(rng, options).subList(0, n);
    }

    private static <T> List<T> shuffled(SplittableRandom rng, List<T> items) {
        List<T> out = new ArrayList<>(items);
        for (int i = out.size() - 1; i > 0; i--) {
            Collections.swap(out, i, rng.nextInt(i + 1));
        }
        return out;
    }
}
