package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.Tensor;

/** Placeholder: implemented by the CPU-ops work item. */
final class Attention {
    private Attention() {
    }

    static void compute(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                        AttentionCapture capture) { throw new UnsupportedOperationException("attention"); }
}
