package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Tensor;

/** Placeholder: implemented by the CPU-ops work item. */
final class Elementwise {
    private Elementwise() {
    }

    static void add(Tensor a, Tensor b, Tensor out) { throw new UnsupportedOperationException("add"); }
    static void mul(Tensor a, Tensor b, Tensor out) { throw new UnsupportedOperationException("mul"); }
    static void scale(Tensor a, float s, Tensor out) { throw new UnsupportedOperationException("scale"); }
    static void activation(Activation f, Tensor x, Tensor out) { throw new UnsupportedOperationException("activation"); }
    static void gatedActivation(Activation f, Tensor g, Tensor u, Tensor out) { throw new UnsupportedOperationException("gatedActivation"); }
}
