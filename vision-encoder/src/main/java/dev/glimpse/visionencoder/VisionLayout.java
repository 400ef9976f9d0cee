package dev.glimpse.visionencoder;

/**
 * Whether a vision tower runs its images-as-heads attention input without layout copies
 * ({@value #PROPERTY}, default false until measured on a GPU): q/k/v are uploaded as one
 * concatenation per layer ({@link VisionWeights.BlockWeights#qkv}, read when the weights are placed)
 * and multiplied as one stacked product ({@link dev.glimpse.kernels.Backend#linearStack}), and
 * layer_norm1 writes its rows token-major directly ({@link dev.glimpse.kernels.Backend#layerNormTokenMajor})
 * instead of a transposing copy after it (read at every forward pass).
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
