package dev.glimpse.evalharness.synth;

import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.util.Locale;

/**
 * The shapes SynthScenes and SynthClips draw. Each is drawn inside a square of side {@code s}
 * centred on the object's centre; its bounding box is what the scene records.
 */
public enum ShapeKind {
    CIRCLE, SQUARE, TRIANGLE, STAR, CROSS, DIAMOND, HEXAGON;

    /** The word questions and answers use ("star"). */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The plural used in counting questions ("crosses"). */
    public String plural() {
        return this == CROSS ? "crosses" : word() + "s";
    }

    /** The outline of this shape of side {@code s} centred on ({@code cx}, {@code cy}). */
    public java.awt.Shape outline(double cx, double cy, double s) {
        double r = s / 2;
        return switch (this) {
            case CIRCLE -> new Ellipse2D.Double(cx - r, cy - r, s, s);
            case SQUARE -> new Rectangle2D.Double(cx - 0.85 * r, cy - 0.85 * r, 1.7 * r, 1.7 * r);
            case TRIANGLE -> polygon(cx, cy, new double[] {0, -r, r, 0.8 * r, -r, 0.8 * r});
            case DIAMOND -> polygon(cx, cy, new double[] {0, -r, 0.75 * r, 0, 0, r, -0.75 * r, 0});
            case CROSS -> {
                double a = r / 3;
                yield polygon(cx, cy, new double[] {-a, -r, a, -r, a, -a, r, -a, r, a, a, a, a, r, -a, r, -a, a,
                        -r, a, -r, -a, -a, -a});
            }
            case STAR -> regular(cx, cy, 10, r, 0.42 * r);
            case HEXAGON -> regular(cx, cy, 6, r, r);
        };
    }

    private static Path2D polygon(double cx, double cy, double[] xy) {
        Path2D.Double p = new Path2D.Double();
        p.moveTo(cx + xy[0], cy + xy[1]);
        for (int i = 2; i < xy.length; i += 2) {
            p.lineTo(cx + xy[i], cy + xy[i + 1]);
        }
        p.closePath();
        return p;
    }

    /** A polygon of {@code n} vertices alternating between radii {@code r1} and {@code r2}, the first pointing up. */
    private static Path2D regular(double cx, double cy, int n, double r1, double r2) {
        double[] xy = new double[2 * n];
        for (int i = 0; i < n; i++) {
            double angle = -Math.PI / 2 + 2 * Math.PI * i / n;
            double r = i % 2 == 0 ? r1 : r2;
            xy[2 * i] = r * Math.cos(angle);
            xy[2 * i + 1] = r * Math.sin(angle);
        }
        return polygon(cx, cy, xy);
    }
}
