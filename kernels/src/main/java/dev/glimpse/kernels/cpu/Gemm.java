package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;

/** Matrix products on the CPU. (Placeholder: implemented by the GEMM work item.) */
final class Gemm {
    private Gemm() {
    }

    static void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        throw new UnsupportedOperationException("Gemm.linear is not implemented yet");
    }

    static void batchedMatmul(Tensor a, Tensor b, boolean transposeB, float alpha, Tensor out) {
        throw new UnsupportedOperationException("Gemm.batchedMatmul is not implemented yet");
    }
}
