package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;

import java.util.SortedMap;

/**
 * The encoder's results for one image or frame. Tensors are F32 views owned by the
 * {@link VisionOutput} they came from; what was not asked for is null (or empty).
 *
 * @param features        selected features [T, hidden * layers], rows in token order
 * @param featureTokens   original token index of each feature row (see {@link LayerTaps#tokens});
 *                        without pruning, CLIP with "default" gives 1..576 for 576 patches
 * @param hiddenStates    HF {@code hidden_states[i]} for each selected i, [N_i, hidden], if kept
 * @param hiddenStateTokens original token index of each row of {@code hiddenStates.get(i)}
 * @param lastHiddenState HF {@code last_hidden_state} [N, hidden]
 * @param pooled          HF {@code pooler_output} [hidden]
 * @param taps            recorded taps by encoder layer
 * @param probeAttention  SigLIP pooling-head probe attention [heads, N] over the last layer's tokens
 */
public record EncodedImage(Tensor features, int[] featureTokens, SortedMap<Integer, Tensor> hiddenStates,
                           SortedMap<Integer, int[]> hiddenStateTokens, Tensor lastHiddenState, Tensor pooled,
                           SortedMap<Integer, LayerTaps> taps, Tensor probeAttention) {
}
