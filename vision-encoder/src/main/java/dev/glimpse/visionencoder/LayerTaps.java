package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;

/**
 * What {@link VisionTaps} recorded at one encoder layer for one image. Each tensor is [heads, N]
 * F32 over the N tokens that entered the layer, in the order of {@code tokens}; a kind not asked
 * for is null.
 *
 * @param layer                 encoder layer index (HF {@code attentions[layer]})
 * @param tokens                original index of each of the N tokens (CLIP: 0 is [CLS], patch
 *                              {@code (r, c)} is {@code 1 + r * side + c}; SigLIP: {@code r * side + c})
 * @param clsAttention          softmax row of the [CLS] query, per head
 * @param meanAttentionReceived column sums of the attention matrix divided by N, per head
 * @param headOutputNorms       {@code ||(A_h V_h)_j||_2} per head and token
 */
public record LayerTaps(int layer, int[] tokens, Tensor clsAttention, Tensor meanAttentionReceived,
                        Tensor headOutputNorms) {
}
