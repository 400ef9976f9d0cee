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
     * Q, K, V and the softmax probabilities rounded to bf16 (8-bit mantissa, relative error up to
     * 2^-9 per operand), products accumulated in F32, softmax statistics F32: what HF's bf16
     * {@code scaled_dot_product_attention} computes. For models whose weights are BF16.
     */
    BF16,

    /**
     * Q, K, V and the softmax probabilities rounded to f16 (11-bit mantissa, relative error up to
     * 2^-12 per operand), products accumulated in F32, softmax statistics F32: what HF's f16
     * {@code scaled_dot_product_attention} computes. For models whose weights are F16.
     */
    F16;

    /** {@link #BF16} for BF16 weights, {@link #F16} for F16 weights, {@link #F32} otherwise. */
    public static AttentionPrecision forWeights(DType weights) {
        return switch (weights) {
            case BF16 -> BF16;
            case F16 -> F16;
            default -> F32;
        };
    }

    /**
     * This precision for an attention pass whose softmax statistics or outputs feed pruning scores
     * ({@code scored}: captured column sums, head output norms or magnitudes): those run at
     * {@link #F32}, so a pruning policy ranks tokens and heads on the same numbers whatever the
     * model's weight dtype. A pass that captures only softmax rows need not ask: the backend
     * recomputes captured rows exactly from q and k.
     */
    public AttentionPrecision unlessScored(boolean scored) {
        return scored ? F32 : this;
    }
}
