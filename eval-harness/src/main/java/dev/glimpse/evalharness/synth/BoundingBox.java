package dev.glimpse.evalharness.synth;

/**
 * An axis-aligned box in pixels, {@code x, y} its top-left corner.
 */
public record BoundingBox(int x, int y, int width, int height) {

    public double centerX() {
        return x + width / 2.0;
    }

    public double centerY() {
        return y + height / 2.0;
    }

    /** Whether this box, grown by {@code margin} pixels on every side, overlaps {@code other}. */
    public boolean intersects(BoundingBox other, int margin) {
        return x - margin < other.x + other.width && other.x < x + width + margin
                && y - margin < other.y + other.height && other.y < y + height + margin;
    }
}
