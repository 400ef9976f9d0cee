package dev.glimpse.kernels;

import java.util.Objects;

/**
 * The dtype in which a model should produce the x of {@link Backend#linear} products: the
 * weights' F16/BF16 where the backend rounds x to it anyway ({@link Backend#halfActivationsForGemm}),
 * else F32.
 *
 * <p>Why producing x in 16 bits changes no value: a backend that answers true converts F32 x to the
 * weights' dtype with round-to-nearest-even before its GEMM. A norm or activation that computes in
 * F32 and rounds to nearest even on store produces those very bits, so the GEMM sees the same
 * operands; only the separate conversion pass (and half the bytes written and read) goes away.
 * Every consumer of such an x must be a product with weights of that dtype: outputs read by
 * anything else (residual adds, attention, taps) stay F32.
 */
public final class GemmInputs {

    private GemmInputs() {
    }

    /**
     * The weights' common 16-bit dtype when {@code backend} rounds x of {@code rows} rows to it,
     * else F32 (also when the weights are F32 or do not all share one dtype).
     */
    public static DType dtype(Backend backend, int rows, Tensor... weights) {
        if (weights.length == 0 || !backend.halfActivationsForGemm(rows)) {
            return DType.F32;
        }
        DType common = Objects.requireNonNull(weights[0], "weights[0]").dtype();
        if (common != DType.BF16 && common != DType.F16) {
            return DType.F32;
        }
        for (Tensor w : weights) {
            if (w.dtype() != common) {
                return DType.F32;
            }
        }
        return common;
    }
}
