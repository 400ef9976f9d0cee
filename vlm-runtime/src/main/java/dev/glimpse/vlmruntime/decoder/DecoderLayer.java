package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.vlmruntime.config.TextConfig;

/**
 * One pre-norm decoder layer, HF {@code LlamaDecoderLayer.forward} (Qwen2 is the same):
 * {@code h = x + self_attn(input_layernorm(x)); out = h + mlp(post_attention_layernorm(h))}.
 * Stateless; the hidden states, cache and scratch belong to the session calling it.
 */
final class DecoderLayer {

    private final LayerWeights w;
    private final float eps;
    private final AttentionBlock attention;
    private final MlpBlock mlp;

    DecoderLayer(int index, LayerWeights weights, TextConfig config) {
        this.w = weights;
        this.eps = (float) config.rmsNormEps();
        this.attention = new AttentionBlock(index, weights, config.numAttentionHeads(), config.numKeyValueHeads(),
                config.headDim());
        this.mlp = new MlpBlock(weights, Activation.fromHfName(config.hiddenAct()));
    }

    /**
     * Updates {@code x} [n, hidden] in place from the layer's input to its output; {@code cos},
     * {@code sin} [n, R/2] hold the rotary tables of the n tokens' positions; {@code activeHeads}
     * and {@code outputs} as in {@link AttentionBlock#forward}.
     */
    void forward(Backend b, Tensor x, ScratchRows s, Tensor cos, Tensor sin, KvCache cache, int[] tokens, int from,
                 AttentionCapture capture, boolean[] activeHeads, LayerCapture outputs) {
        forward(b, x, s, () -> attention.forward(b, x, s, cos, sin, cache, tokens, from, capture, activeHeads, outputs));
    }

    /**
     * One decode token on the GPU, its cache slot and key count read from device memory (see
     * {@link AttentionBlock#forwardStep}); launches nothing that waits on the host. With
     * {@code -Dglimpse.cuda.fusedDecode} on (the default) and 16-bit weights the fused decode ops
     * run instead ({@link #forwardStepFused}); the property is read at each call, so a new session
     * (a new captured graph) sees a change.
     */
    void forwardStep(CudaBackend b, Tensor x, ScratchRows s, Tensor cos, Tensor sin, KvCache cache, Tensor length,
                     Tensor keyCount, boolean[] activeHeads) {
        if (CudaBackend.fusedDecodeEnabled() && fuses(b)) {
            forwardStepFused(b, x, s, cos, sin, cache, length, keyCount, activeHeads);
        } else {
            forward(b, x, s, () -> attention.forwardStep(b, x, s, cos, sin, cache, length, keyCount, activeHeads));
        }
    }

    /**
     * {@link #forwardStep} in five fused launches plus attention: input RMSNorm folded into the q/k/v
     * GEMVs, RoPE into the cache append, the residual adds into o_proj and down_proj, and the
     * post-attention RMSNorm and activation into the gate/up GEMV. Same arithmetic as the unfused
     * step up to the order of F32 sums (see {@code CudaBackend#rmsNormLinear}).
     */
    private void forwardStepFused(CudaBackend b, Tensor x, ScratchRows s, Tensor cos, Tensor sin, KvCache cache,
                                  Tensor length, Tensor keyCount, boolean[] activeHeads) {
        attention.forwardStepFused(b, x, w.inputNorm(), eps, s, cos, sin, cache, length, keyCount, activeHeads);
        mlp.forwardStepFused(b, w.postAttentionNorm(), eps, s, x);
    }

    /** True when every projection of the layer is a weight the fused decode kernels read in place, q/k/v of one dtype. */
    private boolean fuses(CudaBackend b) {
        for (Tensor t : new Tensor[] {w.q(), w.k(), w.v(), w.o(), w.gate(), w.up(), w.down()}) {
            if (!b.fusesDecodeWeight(t)) {
                return false;
            }
        }
        return w.q().dtype() == w.k().dtype() && w.q().dtype() == w.v().dtype() && w.gate().dtype() == w.up().dtype();
    }

    /** Input RMSNorm, then {@code attend} (which writes the residual stream {@code s.residual()}), then the MLP half. */
    private void forward(Backend b, Tensor x, ScratchRows s, Runnable attend) {
        b.rmsNorm(x, w.inputNorm(), eps, s.normed());
        attend.run();
        b.rmsNorm(s.residual(), w.postAttentionNorm(), eps, s.normed());
        mlp.forward(b, s, x);
    }
}
