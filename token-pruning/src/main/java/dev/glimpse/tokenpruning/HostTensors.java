package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;

/** Reads small attention tensors (taps, captures) onto the host for scoring. */
final class HostTensors {

    private HostTensors() {
    }

    /** The values of {@code t} as [rows][cols]; {@code t} must be rank 2 with {@code cols} columns. */
    static float[][] rows(Backend backend, Tensor t, String what, int cols) {
        if (t == null) {
            throw new IllegalArgumentException(what + " was not captured");
        }
        if (t.rank() != 2 || t.dim(1) != cols) {
            throw new IllegalArgumentException(what + " must be [heads, " + cols + "], got " + t);
        }
        float[] flat = values(backend, t);
        float[][] out = new float[t.dim(0)][cols];
        for (int r = 0; r < out.length; r++) {
            System.arraycopy(flat, r * cols, out[r], 0, cols);
        }
        return out;
    }

    /** All values of {@code t} in row-major order. */
    static float[] values(Backend backend, Tensor t) {
        Tensor h = backend.download(t);
        try {
            return h.toFloatArray();
        } finally {
            if (h != t) {
                h.close();
            }
        }
    }
}
