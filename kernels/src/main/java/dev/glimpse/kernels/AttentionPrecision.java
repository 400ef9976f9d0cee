package dev.glimpse.kernels;

/**
 * How exactly {@link Backend#attention} must compute {@code q k^T} and {@code probs v}. A model
 * picks it once, at load, from the dtype of its weights ({@link #forWeights}); a backend may always
 * compute more exactly than asked (the CPU backend computes F32 whatever the precision).
 */
public enum AttentionPrecision {

    /** F32-level accuracy: the CPU parity tolerances hold. For F32 models and for captured attention. */
    F32,

    /**
     * Q, K, V and the softmax probabilities may be rounded to TF32 (10-bit mantissa, relative error
     * ~5e-4 per operand) in products that accumulate in F32; softmax statistics stay F32. For models
     * whose weights are BF16 or F16, whose activations HF rounds harder (to bf16/f16) in its own
     * attention.
     */
    TF32;

    /** {@link #TF32} for BF16 or F16 weights, {@link #F32} otherwise. */
    public static AttentionPrecision forWeights(DType weights) {
        return weights == DType.BF16 || weights == DType.F16 ? TF32 : F32;
    }

    /**
     * This precision for an attention pass whose probabilities or outputs feed pruning scores
     * ({@code scored}): those always run at {@link #F32}, so a pruning policy ranks tokens and heads
     * on the same numbers whatever the model's weight dtype.
     */
    public AttentionPrecision unlessScored(boolean scored) {
        return scored ? F32 : this;
    }
}
