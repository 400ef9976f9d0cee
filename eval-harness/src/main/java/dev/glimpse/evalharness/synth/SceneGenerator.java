package dev.glimpse.evalharness.synth;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Draws SynthScenes ground truth from a seed: a textured background and 1 to {@value #MAX_OBJECTS}
 * objects (shape x colour x size class) at random positions, at least {@value #GAP} pixels apart
 * so that none overlaps another. Size classes are weighted tiny 25%, small 30%, medium 30%,
 * large 15%; sides scale with the image's shorter side over 224. The same seed and size always
 * give the same scene.
 */
public final class SceneGenerator {

    public static final int MAX_OBJECTS = 5;
    /** Free pixels kept between objects' bounding boxes. */
    public static final int GAP = 4;
    private static final int PLACEMENT_TRIES = 200;
    private static final double[] SIZE_WEIGHTS = {0.25, 0.30, 0.30, 0.15};

    private final int width;
    private final int height;

    /** Scenes of {@code width} x {@code height} pixels (at least 32 on each side). */
    public SceneGenerator(int width, int height) {
        if (width < 32 || height < 32) {
            throw new IllegalArgumentException("SynthScenes images need at least 32 x 32 pixels, got "
                    + width + " x " + height);
        }
        this.width = width;
        this.height = height;
    }

    /** The default 224 x 224 scenes. */
    public static SceneGenerator standard() {
        return new SceneGenerator(224, 224);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The scene of {@code seed}. */
    public Scene generate(long seed) {
        SplittableRandom rng = Seeds.random(seed, Seeds.SCENE);
        Background background = randomBackground(rng, Seeds.derive(seed, Seeds.TEXTURE), 6);
        int count = 1 + rng.nextInt(MAX_OBJECTS);
        List<SceneObject> objects = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            SizeClass size = pickSize(rng);
            SceneObject candidate = place(rng, randomObjectAttributes(rng, size), objects);
            if (candidate != null) {
                objects.add(candidate);
            }
        }
        return new Scene("s" + seed, seed, width, height, background, objects);
    }

    /** A random background; {@code grain} bounds the per-pixel noise. */
    static Background randomBackground(SplittableRandom rng, long textureSeed, int grain) {
        Background.Style style = Background.Style.values()[rng.nextInt(Background.Style.values().length)];
        int a = Palette.muted(rng);
        int b = Palette.mutedNear(rng, a);
        double angle = rng.nextDouble() * Math.PI;
        double period = style == Background.Style.STRIPES ? 8 + rng.nextInt(24) : 24 + rng.nextInt(40);
        return new Background(style, a, b, angle, period, grain, 4 + rng.nextInt(10), textureSeed);
    }

    /** An object of {@code size} with random shape, colour and fill, centred at the origin until placed. */
    SceneObject randomObjectAttributes(SplittableRandom rng, SizeClass size) {
        ShapeKind shape = ShapeKind.values()[rng.nextInt(ShapeKind.values().length)];
        ObjectColor color = ObjectColor.values()[rng.nextInt(ObjectColor.values().length)];
        double scale = Math.min(width, height) / 224.0;
        double side = (size.min() + rng.nextInt(size.max() - size.min() + 1)) * scale;
        return SceneObject.of(shape, color, size, Palette.jittered(rng, color), side, 0, 0);
    }

    /** {@code object} moved to a free random spot, or null when none was found. */
    private SceneObject place(SplittableRandom rng, SceneObject object, List<SceneObject> placed) {
        double half = object.side() / 2 + 1;
        for (int t = 0; t < PLACEMENT_TRIES; t++) {
            double cx = half + rng.nextDouble() * (width - 2 * half);
            double cy = half + rng.nextDouble() * (height - 2 * half);
            SceneObject moved = object.movedTo(cx, cy);
            if (placed.stream().noneMatch(p -> p.box().intersects(moved.box(), GAP))) {
                return moved;
            }
        }
        return null;
    }

    private static SizeClass pickSize(SplittableRandom rng) {
        double u = rng.nextDouble();
        for (int i = 0; i < SIZE_WEIGHTS.length; i++) {
            u -= SIZE_WEIGHTS[i];
            if (u < 0) {
                return SizeClass.values()[i];
            }
        }
        return SizeClass.LARGE;
    }
}
