package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;

import java.util.List;

/**
 * The tensors of one {@code LlamaDecoderLayer} / {@code Qwen2DecoderLayer}, zero-copy views of the
 * checkpoint (F32, F16 or BF16 as stored). Biases are null where the config has none.
 * {@code stacks} (null: none) are the fused projections of weights placed on a device by
 * {@link #on(ResidentWeights, boolean)}, views of the very memory q, k, v, gate and up are.
 */
public record LayerWeights(Tensor inputNorm, Tensor q, Tensor qBias, Tensor k, Tensor kBias, Tensor v, Tensor vBias,
                           Tensor o, Tensor oBias, Tensor postAttentionNorm, Tensor gate, Tensor gateBias,
                           Tensor up, Tensor upBias, Tensor down, Tensor downBias, ProjectionStacks stacks) {

    /** The checkpoint's separate tensors, without stacks. */
    public LayerWeights(Tensor inputNorm, Tensor q, Tensor qBias, Tensor k, Tensor kBias, Tensor v, Tensor vBias,
                        Tensor o, Tensor oBias, Tensor postAttentionNorm, Tensor gate, Tensor gateBias,
                        Tensor up, Tensor upBias, Tensor down, Tensor downBias) {
        this(inputNorm, q, qBias, k, kBias, v, vBias, o, oBias, postAttentionNorm, gate, gateBias, up, upBias, down,
                downBias, null);
    }

    /**
     * These tensors placed by {@code store} (device copies it owns, or themselves on a host
     * backend). With {@code stack} on a device backend, q/k/v and gate/up are first uploaded as one
     * concatenation each ({@link ResidentWeights#placeConcatenated}), their biases too, so the
     * separate tensors are views of it and {@link #stacks} runs them as one product; nothing is
     * uploaded twice.
     */
    LayerWeights on(ResidentWeights store, boolean stack) {
        ProjectionStacks stacked = null;
        if (stack && !store.isHost()) {
            int qWidth = q.dim(0);
            int kvWidth = k.dim(0);
            boolean qkvBiased = qBias != null && kBias != null && vBias != null;
            boolean mlpBiased = gateBias != null && upBias != null;
            Tensor qkvWhole = store.placeConcatenated(List.of(q, k, v));
            Tensor qkvBiasWhole = qkvBiased ? store.placeConcatenatedBiases(List.of(qBias, kBias, vBias)) : null;
            Tensor gateUpWhole = store.placeConcatenated(List.of(gate, up));
            Tensor gateUpBiasWhole = mlpBiased ? store.placeConcatenatedBiases(List.of(gateBias, upBias)) : null;
            stacked = ProjectionStacks.of(qkvWhole, qkvBiasWhole, qkvBiased || qBias != null || kBias != null || vBias != null,
                    qWidth, kvWidth, gateUpWhole, gateUpBiasWhole, mlpBiased || gateBias != null || upBias != null);
        }
        return new LayerWeights(store.place(inputNorm), store.place(q), store.placeBias(qBias), store.place(k),
                store.placeBias(kBias), store.place(v), store.placeBias(vBias), store.place(o), store.placeBias(oBias),
                store.place(postAttentionNorm), store.place(gate), store.placeBias(gateBias), store.place(up),
                store.placeBias(upBias), store.place(down), store.placeBias(downBias), stacked);
    }
}
