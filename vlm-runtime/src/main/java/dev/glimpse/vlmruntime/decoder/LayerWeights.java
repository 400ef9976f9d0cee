package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;

/**
 * The tensors of one {@code LlamaDecoderLayer} / {@code Qwen2DecoderLayer}, zero-copy views of the
 * checkpoint (F32, F16 or BF16 as stored). Biases are null where the config has none.
 */
public record LayerWeights(Tensor inputNorm, Tensor q, Tensor qBias, Tensor k, Tensor kBias, Tensor v, Tensor vBias,
                           Tensor o, Tensor oBias, Tensor postAttentionNorm, Tensor gate, Tensor gateBias,
                           Tensor up, Tensor upBias, Tensor down, Tensor downBias) {

    /** These tensors placed by {@code store} (device copies it owns, or themselves on a host backend). */
    LayerWeights on(ResidentWeights store) {
        return new LayerWeights(store.place(inputNorm), store.place(q), store.place(qBias), store.place(k),
                store.place(kBias), store.place(v), store.place(vBias), store.place(o), store.place(oBias),
                store.place(postAttentionNorm), store.place(gate), store.place(gateBias), store.place(up),
                store.place(upBias), store.place(down), store.place(downBias));
    }
}
