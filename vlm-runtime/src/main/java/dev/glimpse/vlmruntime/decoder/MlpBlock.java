package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;

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

    /**
     * The decode step's post-attention half, fused: {@code s.activated() = act(gate(xn)) * up(xn)}
     * with {@code xn = rmsNorm(s.residual())} in one launch, then {@code x = s.residual() + down(s.activated())}
     * in one. Equals {@code rmsNorm} and {@link #forward} of the unfused step.
     */
    void forwardStepFused(CudaBackend b, Tensor norm, float eps, ScratchRows s, Tensor x) {
        b.rmsNormGatedMlpIn(s.residual(), norm, eps, w.gate(), w.gateBias(), w.up(), w.upBias(), activation, s.activated());
        b.linearAddResidual(s.activated(), w.down(), w.downBias(), s.residual(), x);
    }

    /**
     * Reads {@code s.normed()} and the residual stream {@code s.residual()}, writes
     * {@code x = s.residual() + mlp(s.normed())}, the residual added by {@code down_proj}'s product
     * ({@link Backend#linearAddResidual}: in the GEMM's epilogue on CUDA). Where the layer's weights
     * are stacked ({@link LayerWeights#stacks}) gate and up run as one stacked product into the
     * scratch's [2, n, intermediate] view, whose halves are {@code s.gate()} and {@code s.up()}. A CUDA
     * block rounds as HF's 16-bit model does where it can ({@link #forwardRounded}; {@code -Dglimpse.cuda.mlp16},
     * on by default, {@code =false} restores the F32 gate/up path below).
     */
    void forward(Backend b, ScratchRows s, Tensor x) {
        if (b instanceof CudaBackend cuda && CudaBackend.mlp16Enabled() && forwardRounded(cuda, s, x)) {
            return;
        }
        ProjectionStacks stacks = w.stacks();
        if (stacks != null && stacks.gateUp() != null) {
            b.linearStack(s.normed(), stacks.gateUp(), stacks.gateUpBias(), s.gateUp());
        } else {
            b.linear(s.normed(), w.gate(), w.gateBias(), s.gate());
            b.linear(s.normed(), w.up(), w.upBias(), s.up());
        }
        b.gatedActivation(activation, s.gate(), s.up(), s.activated());
        b.linearAddResidual(s.activated(), w.down(), w.downBias(), s.residual(), x);
    }

    /**
     * {@link #forward} in HF's 16-bit roundings ({@link CudaBackend#mlp16Enabled}): gate and up from one
     * stacked product rounded to the weights' dtype T in its epilogue ({@link CudaBackend#linearStackRounded},
     * bias inside the product as {@code nn.Linear} adds it), {@code s.activated() = T(T(act(gate)) * up)}
     * ({@link CudaBackend#gatedActivationRounded}), then down_proj with the residual as {@link #forward}.
     * False, having queued nothing, where the block has no stacked gate/up weights, no 16-bit scratch of
     * their dtype (the decode step, short tails) or the product declines: {@link #forward} then runs in F32.
     */
    private boolean forwardRounded(CudaBackend b, ScratchRows s, Tensor x) {
        ProjectionStacks stacks = w.stacks();
        Tensor half = s.gateUpHalf();
        if (stacks == null || stacks.gateUp() == null || half == null || half.dtype() != stacks.gateUp().dtype()
                || s.activated().dtype() != half.dtype()
                || !b.linearStackRounded(s.normed(), stacks.gateUp(), stacks.gateUpBias(), half)) {
            return false;
        }
        b.gatedActivationRounded(activation, half.select(0, 0), half.select(0, 1), s.activated());
        b.linearAddResidual(s.activated(), w.down(), w.downBias(), s.residual(), x);
        return true;
    }
}
