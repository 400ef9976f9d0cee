package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;

/**
 * What a decoder layer's attention says about the current visual tokens, sliced by the model
 * from its capture (keys restricted to the n visual tokens still active, in prompt order). Each
 * tensor is F32 and may be null when the strategy's {@link AttentionNeeds} did not ask for it.
 *
 * @param layer          decoder layer that just ran (0-based)
 * @param lastTokenProbs [heads, n]: the last prefill token's softmax row over the visual keys
 * @param textQueryProbs [heads, q, n]: softmax rows of every non-visual query that comes after the
 *                       first visual token (the question and template text after the image,
 *                       including the last token). Queries before the image see no visual key
 *                       (causal mask), so together with {@code columnSums} this splits attention
 *                       received into visual->visual and text->visual parts
 * @param columnSums     [heads, n]: attention each visual key received, summed over all prefill queries
 * @param headOutputL1   [heads]: this layer's per-head attention-output L1 magnitude,
 *                       {@code sum_t ||o^h_t||_1} over the prefill's queries (SpAtten head importance)
 */
public record DecoderAttention(int layer, Tensor lastTokenProbs, Tensor textQueryProbs, Tensor columnSums,
                               Tensor headOutputL1) {
}
