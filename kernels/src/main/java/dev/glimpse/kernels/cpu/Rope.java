package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;

/** Placeholder: implemented by the CPU-ops work item. */
final class Rope {
    private Rope() {
    }

    static void apply(Tensor x, Tensor cos, Tensor sin, Tensor out) { throw new UnsupportedOperationException("rope"); }
}
