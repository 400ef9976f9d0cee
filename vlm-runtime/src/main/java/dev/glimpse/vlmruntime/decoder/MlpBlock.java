package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Backend;

/**
 * The gated MLP of HF {@code LlamaMLP} / {@code Qwen2MLP}:
 * {@code down_proj(act_fn(gate_proj(x)) * up_proj(x))}, {@code act_fn} from {@code hidden_act}
 * (SiLU for both families).
 */
final class MlpBlock {

    private final LayerWeights w;
    private final Activation activation;

    MlpBlock(LayerWeights weights, Activation activation) {
        this.w = weights;
        this.activation = activation;
    }

    /** Reads {@code s.normed()}, writes {@code s.projected()}. */
    void forward(Backend b, ScratchRows s) {
        b.linear(s.normed(), w.gate(), w.gateBias(), s.gate());
        b.linear(s.normed(), w.up(), w.upBias(), s.up());
        b.gatedActivation(activation, s.gate(), s.up(), s.activated());
        b.linear(s.activated(), w.down(), w.downBias(), s.projected());
    }
}
