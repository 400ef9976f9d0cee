package dev.glimpse.tokenpruning;

/**
 * The patch grid of one image or frame: {@code rows x cols} visual tokens in raster order, token
 * {@code i} at row {@code i / cols}, column {@code i % cols}. Indices here never count a [CLS]
 * token: patch {@code (r, c)} is token {@code r * cols + c}.
 */
public record TokenGrid(int rows, int cols) {

    public TokenGrid {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("a token grid needs positive sides, got " + rows + " x " + cols);
        }
    }

    /** The square grid of {@code tokens} patches (576 -> 24 x 24); an error if not a square. */
    public static TokenGrid square(int tokens) {
        int side = (int) Math.round(Math.sqrt(tokens));
        if (side <= 0 || side * side != tokens) {
            throw new IllegalArgumentException(tokens + " tokens do not form a square grid; pass rows and cols");
        }
        return new TokenGrid(side, side);
    }

    public int size() {
        return rows * cols;
    }

    public int row(int token) {
        checkToken(token);
        return token / cols;
    }

    public int col(int token) {
        checkToken(token);
        return token % cols;
    }

    public int index(int row, int col) {
        if (row < 0 || row >= rows || col < 0 || col >= cols) {
            throw new IndexOutOfBoundsException("(" + row + ", " + col + ") is outside the " + this + " grid");
        }
        return row * cols + col;
    }

    private void checkToken(int token) {
        if (token < 0 || token >= size()) {
            throw new IndexOutOfBoundsException("token " + token + " is outside the " + this + " grid");
        }
    }

    @Override
    public String toString() {
        return rows + "x" + cols;
    }
}
