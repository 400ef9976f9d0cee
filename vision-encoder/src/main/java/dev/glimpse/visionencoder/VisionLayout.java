package dev.glimpse.visionencoder;

/**
 * Whether a vision tower runs its images-as-heads attention input without layout copies
 * ({@value #PROPERTY}, default false until measured on a GPU): q/k/v are uploaded as one
 * concatenation per layer ({@link VisionWeights.BlockWeights#qkv}, read when the weights are placed)
 * and multiplied as one stacked product ({@link dev.glimpse.kernels.Backend#linearStack}),
 * layer_norm1 writes its rows token-major directly ({@link dev.glimpse.kernels.Backend#layerNormTokenMajor})
 * instead of a transposing copy after it, and with 16-bit GEMM inputs the attention writes out_proj's
 * image-major input directly ({@link dev.glimpse.kernels.Backend#attentionImagesAsHeads}) instead of
 * a copy back (these read at every forward pass).
 */
public final class VisionLayout {

    /** The switch: {@code -Dglimpse.cuda.visionLayout=true} turns the copy-free layout on. */
    public static final String PROPERTY = "glimpse.cuda.visionLayout";

    private VisionLayout() {
    }

    /** {@value #PROPERTY} is {@code true}, read now. */
    public static boolean enabled() {
        return Boolean.getBoolean(PROPERTY);
    }
}
