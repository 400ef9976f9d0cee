package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;

/**
 * The tensors of one {@code LlamaDecoderLayer} / {@code Qwen2DecoderLayer}, zero-copy views of the
 * checkpoint (F32, F16 or BF16 as stored). Biases are null where the config has none.
 */
public record LayerWeights(Tensor inputNorm, Tensor q, Tensor qBias, Tensor k, Tensor kBias, Tensor v, Tensor vBias,
                           Tensor o, Tensor oBias, Tensor postAttentionNorm, Tensor gate, Tensor gateBias,
                           Tensor up, Tensor upBias, Tensor down, Tensor downBias) {
}
