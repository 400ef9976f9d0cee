package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;

import java.util.List;

/** Placeholder: implemented by the CPU-ops work item. */
final class Indexing {
    private Indexing() {
    }

    static void copy(Tensor src, Tensor dst) { throw new UnsupportedOperationException("copy"); }
    static void embedding(Tensor table, int[] ids, Tensor out) { throw new UnsupportedOperationException("embedding"); }
    static void gatherRows(Tensor x, int[] rows, Tensor out) { throw new UnsupportedOperationException("gatherRows"); }
    static void concat(int axis, List<Tensor> parts, Tensor out) { throw new UnsupportedOperationException("concat"); }
    static int[] argmax(Tensor x) { throw new UnsupportedOperationException("argmax"); }
}
