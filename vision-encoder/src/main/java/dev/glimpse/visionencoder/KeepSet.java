package dev.glimpse.visionencoder;

import java.util.Arrays;

/**
 * The token rows a {@link BlockPruningHook} keeps: positions in the current (already pruned)
 * sequence, not original token indices. {@link #all()} keeps every row and costs nothing.
 */
public sealed interface KeepSet {

    /** Keep every row: the encoder continues unchanged. */
    record All() implements KeepSet {
    }

    /**
     * Keep these rows. Order and duplicates do not matter: kept rows stay in their current order
     * (raster order for patches), and the encoder adds [CLS] (row 0 of a CLIP tower) when missing.
     */
    record Rows(int[] rows) implements KeepSet {
        public Rows {
            rows = rows.clone();
        }

        @Override
        public int[] rows() {
            return rows.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Rows other && Arrays.equals(rows, other.rows);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(rows);
        }

        @Override
        public String toString() {
            return "KeepSet.Rows" + Arrays.toString(rows);
        }
    }

    static KeepSet all() {
        return new All();
    }

    static KeepSet rows(int... rows) {
        return new Rows(rows);
    }
}
