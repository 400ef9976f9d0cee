package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;

/** Batched O(n) top-k selection. (Placeholder: implemented by the GEMM/top-k work item.) */
final class TopKSelect {
    private TopKSelect() {
    }

    static TopK topK(Tensor scores, int k, TopK.Order order) {
        throw new UnsupportedOperationException("TopKSelect.topK is not implemented yet");
    }
}
