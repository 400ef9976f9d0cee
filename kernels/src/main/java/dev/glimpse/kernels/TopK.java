package dev.glimpse.kernels;

/**
 * Result of a batched top-k: for each row, k indices into that row and their values.
 *
 * @param indices [rows, k] I32
 * @param values  [rows, k] F32
 */
public record TopK(Tensor indices, Tensor values) implements AutoCloseable {

    /** Order of each row's k results. */
    public enum Order {
        /** Largest value first; equal values by ascending index. */
        BY_VALUE,
        /** Ascending index: raster order of the kept tokens. */
        BY_INDEX
    }

    @Override
    public void close() {
        indices.close();
        values.close();
    }
}
