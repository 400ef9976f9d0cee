package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;

/** Placeholder: implemented by the CPU-ops work item. */
final class Normalization {
    private Normalization() {
    }

    static void softmax(Tensor x, Tensor out) { throw new UnsupportedOperationException("softmax"); }
    static void layerNorm(Tensor x, Tensor g, Tensor b, float eps, Tensor out) { throw new UnsupportedOperationException("layerNorm"); }
    static void rmsNorm(Tensor x, Tensor g, float eps, Tensor out) { throw new UnsupportedOperationException("rmsNorm"); }
    static void l2Norm(Tensor x, Tensor out) { throw new UnsupportedOperationException("l2Norm"); }
}
