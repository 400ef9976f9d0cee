package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;

import java.lang.foreign.Arena;
import java.util.function.Function;

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

    /**
     * All values of {@code t} in row-major order. A device tensor is copied into host memory of a
     * confined arena rather than through {@link Backend#download}, whose host tensor lives in a
     * shared arena: freeing one runs a handshake with every JVM thread, once per read-back.
     */
    static float[] values(Backend backend, Tensor t) {
        return read(backend, t, Tensor::toFloatArray);
    }

    /** All values of the integer tensor {@code t} (e.g. top-k indices) in row-major order, read as {@link #values}. */
    static int[] ints(Backend backend, Tensor t) {
        return read(backend, t, Tensor::toIntArray);
    }

    /** {@code array} of {@code t} on the host, or of its copy in a confined arena where {@code t} is on a device. */
    private static <A> A read(Backend backend, Tensor t, Function<Tensor, A> array) {
        if (t.device().isHost()) {
            return array.apply(t);
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor host = Tensor.allocate(arena, t.dtype(), t.shape());
            backend.copy(t, host);
            return array.apply(host);
        }
    }
}
