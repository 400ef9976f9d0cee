package dev.glimpse.evalharness.synth;

import java.util.Objects;

/**
 * One drawn object: what it is and where.
 *
 * @param shape     its shape
 * @param color     its colour class
 * @param size      its size class
 * @param fill      the exact fill drawn, {@code 0xRRGGBB} (the colour class jittered)
 * @param side      the side of the square the shape is drawn in, pixels
 * @param centerX   centre, pixels from the left
 * @param centerY   centre, pixels from the top
 * @param box       the drawn shape's bounding box
 */
public record SceneObject(ShapeKind shape, ObjectColor color, SizeClass size, int fill, double side,
                          double centerX, double centerY, BoundingBox box) {

    public SceneObject {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(color, "color");
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(box, "box");
    }

    /** This object drawn with its centre at ({@code cx}, {@code cy}). */
    public SceneObject movedTo(double cx, double cy) {
        return of(shape, color, size, fill, side, cx, cy);
    }

    /** The object with its bounding box computed from the outline. */
    public static SceneObject of(ShapeKind shape, ObjectColor color, SizeClass size, int fill, double side,
                                 double cx, double cy) {
        java.awt.Rectangle b = shape.outline(cx, cy, side).getBounds();
        return new SceneObject(shape, color, size, fill, side, cx, cy, new BoundingBox(b.x, b.y, b.width, b.height));
    }

    /** "red star". */
    public String phrase() {
        return color.word() + " " + shape.word();
    }
}
