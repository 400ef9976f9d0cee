package dev.glimpse.evalharness.synth;

import java.util.Locale;
import java.util.Optional;

/**
 * Where an object is, by its centre in thirds of the image: the centre's column third (left,
 * middle, right) and row third (top, middle, bottom) give
 * <ul>
 *   <li>middle column and middle row: {@link #CENTER};</li>
 *   <li>left or right column, middle row: {@link #LEFT} / {@link #RIGHT};</li>
 *   <li>middle column, top or bottom row: {@link #TOP} / {@link #BOTTOM};</li>
 *   <li>a corner third (e.g. left and top): no one-word position, the question is not asked.</li>
 * </ul>
 * A centre closer than {@value #MARGIN} of the image side to a third boundary is ambiguous too.
 */
public enum Position {
    LEFT, RIGHT, TOP, BOTTOM, CENTER;

    /** Dead zone around each third boundary, as a fraction of the image side. */
    public static final double MARGIN = 0.04;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The position of a centre at ({@code x}, {@code y}) in a {@code width} x {@code height} image, if unambiguous. */
    public static Optional<Position> of(double x, double y, int width, int height) {
        int col = third(x / width);
        int row = third(y / height);
        if (col < 0 || row < 0) {
            return Optional.empty();
        }
        if (row == 1) {
            return Optional.of(col == 0 ? LEFT : col == 1 ? CENTER : RIGHT);
        }
        if (col == 1) {
            return Optional.of(row == 0 ? TOP : BOTTOM);
        }
        return Optional.empty();
    }

    /** 0, 1, 2 for the third holding {@code f} in [0, 1], or -1 within {@link #MARGIN} of a boundary. */
    private static int third(double f) {
        for (double boundary : new double[] {1 / 3.0, 2 / 3.0}) {
            if (Math.abs(f - boundary) < MARGIN) {
                return -1;
            }
        }
        return f < 1 / 3.0 ? 0 : f < 2 / 3.0 ? 1 : 2;
    }
}
