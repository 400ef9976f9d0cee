package dev.glimpse.visionencoder;

import dev.glimpse.kernels.BooleanProperty;

/**
 * Whether a vision tower runs its images-as-heads attention input without layout copies
 * ({@value #PROPERTY}, default true since the H200 measured it: LLaVA-1.5-7B's CLIP tower 2.90 -> 2.48 ms,
 * OneVision's 32-frame SigLIP tower 60.9 -> 59.2 ms, 2026-11-28,
 * bench/results/h200-llava-2026-11-28-session6-start.json; {@code false} for the copying layout): q/k/v are uploaded as one
 * concatenation per layer ({@link VisionWeights.BlockWeights#qkv}, read when the weights are placed)
 * and multiplied as one stacked product ({@link dev.glimpse.kernels.Backend#linearStack}),
 * layer_norm1 writes its rows token-major directly ({@link dev.glimpse.kernels.Backend#layerNormTokenMajor})
 * instead of a transposing copy after it, and with 16-bit GEMM inputs the attention writes out_proj's
 * image-major input directly ({@link dev.glimpse.kernels.Backend#attentionImagesAsHeads}) instead of
 * a copy back (these read at every forward pass).
 */
public final class VisionLayout {

    /** The switch: {@code -Dglimpse.cuda.visionLayout=false} turns the copy-free layout off. */
    public static final String PROPERTY = "glimpse.cuda.visionLayout";

    private VisionLayout() {
    }

    /** {@value #PROPERTY} is not {@code false}, read now. */
    public static boolean enabled() {
        return BooleanProperty.read(PROPERTY, true);
    }
}
