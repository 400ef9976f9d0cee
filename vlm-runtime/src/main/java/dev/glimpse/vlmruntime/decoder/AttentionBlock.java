package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.LinearTarget;

import java.util.List;

/**
 * Causal self-attention of one decoder layer, as HF {@code LlamaAttention.forward} /
 * {@code Qwen2Attention.forward}: q, k, v projections (with biases when the config has them),
 * rotary embedding of q and k ({@code apply_rotary_pos_emb}, rotate-half layout), the new keys and
 * values appended to the layer's cache, grouped-query attention over every cached key with
 * scaling {@code head_dim^-0.5}, then {@code o_proj}. Attention runs at the precision of the
 * layer's weights ({@link AttentionPrecision#forWeights}: BF16 or F16 for a BF16 or F16 checkpoint,
 * operands rounded as HF's sdpa rounds them), except passes whose softmax statistics or outputs feed
 * pruning scores (captured column sums, head outputs), which run F32; captured rows alone are
 * recomputed exactly by the backend and leave the pass at the model's precision.
 */
final class AttentionBlock {

    private final int layer;
    private final LayerWeights w;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale;
    private final AttentionPrecision precision;

    AttentionBlock(int layer, LayerWeights weights, int heads, int kvHeads, int headDim) {
        this.layer = layer;
        this.w = weights;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.scale = (float) Math.pow(headDim, -0.5);
        this.precision = AttentionPrecision.forWeights(weights.q().dtype());
    }

    /**
     * Reads {@code s.normed()} [n, hidden] and the layer input {@code x} [n, hidden], writes the
     * residual stream {@code s.residual() = x + o_proj(attention)}; the n tokens (sequence indices
     * {@code tokens[from .. from + n)}) follow everything already in the cache. Query heads outside
     * {@code activeHeads} (null: all run) output zero (SpAtten head pruning); {@code outputs}
     * (nullable) receives the attention output [n, heads, D] for head magnitudes.
     *
     * <p>With the fused prefill ops (the default; {@code -Dglimpse.cuda.prefillFusion=false} turns them off, {@link CudaBackend#prefillFusionEnabled})
     * RoPE of q and k and the cache append run as one launch on CUDA
     * ({@link KvCache#appendRotating}: the same values, k left unrotated in the scratch), and o_proj
     * adds the residual itself ({@link Backend#linearAddResidual}: in the GEMM's epilogue on CUDA, the
     * product then the add, the same bits, on the CPU). Without captures, pruned heads or head outputs,
     * attention on CUDA then stores o_proj's 16-bit input itself ({@link #halfOutput}); under
     * {@code -Dglimpse.cuda.prefillRopeAttention=true} ({@link CudaBackend#prefillRopeAttentionEnabled}) RoPE, the
     * cache append and that attention run as one launch where the backend takes the block
     * ({@link KvCache#appendRotatingAttention}: short prefills; the same cache entries and bits, q left unrotated,
     * which nothing after the attention reads).
     */
    void forward(Backend b, Tensor x, ScratchRows s, Tensor cos, Tensor sin, KvCache cache, int[] tokens, int from,
                 AttentionCapture capture, boolean[] activeHeads, LayerCapture outputs) {
        int n = s.n();
        boolean fused = CudaBackend.prefillFusionEnabled();
        products(b, s);
        Tensor q = s.q().reshape(n, heads, headDim);
        Tensor k = s.k().reshape(n, kvHeads, headDim);
        Tensor v = s.v().reshape(n, kvHeads, headDim);
        int start = cache.length(layer);
        boolean headOutput = outputs != null && outputs.wantsHeadOutput();
        boolean plain = capture == null && activeHeads == null && !headOutput;
        if (fused && plain && halfOutput(b, s) && CudaBackend.prefillRopeAttentionEnabled()
                && cache.appendRotatingAttention((CudaBackend) b, layer, q, k, v, cos, sin, tokens, from, scale,
                        s.attentionHalf().reshape(n, heads, headDim), precision)) {
            b.linearAddResidual(s.attentionHalf(), w.o(), w.oBias(), x, s.residual());
            return;
        }
        if (fused && b instanceof CudaBackend cuda) {
            cache.appendRotating(cuda, layer, q, k, v, cos, sin, tokens, from);
        } else {
            b.rope(q, cos, sin, q);
            b.rope(k, cos, sin, k);
            cache.append(b, layer, k, v, tokens, from);
        }
        int keys = start + n;
        Tensor out = s.attention().reshape(n, heads, headDim);
        Tensor keyRows = cache.keys(layer, keys);
        Tensor valueRows = cache.values(layer, keys);
        AttentionMask mask = AttentionMask.causal(start);
        if (fused && plain && halfOutput(b, s) && ((CudaBackend) b).attentionHalfOutput(q, keyRows, valueRows, mask,
                scale, s.attentionHalf().reshape(n, heads, headDim), precision)) {
            b.linearAddResidual(s.attentionHalf(), w.o(), w.oBias(), x, s.residual());
            return;
        }
        b.attention(q, keyRows, valueRows, mask, scale, out, capture, activeHeads,
                precision.unlessScored(capture != null && capture.columnSums() != null || headOutput));
        if (headOutput) {
            outputs.addHeadOutput(out);
        }
        outputProjection(b, s, x, fused);
    }

    /**
     * Whether this block may hand a CUDA prefill's attention the 16-bit o_proj input to store itself
     * ({@link CudaBackend#attentionHalfOutput}; on unless {@code -Dglimpse.cuda.attentionHalfOutput=false}):
     * the scratch has the 16-bit view and o_proj's weights are of that type. The backend still
     * declines where its in-place cache kernel does not run.
     */
    private boolean halfOutput(Backend b, ScratchRows s) {
        return b instanceof CudaBackend && CudaBackend.attentionHalfOutputEnabled() && s.attentionHalf() != null
                && s.attentionHalf().dtype() == w.o().dtype();
    }

    /**
     * One decode token on the GPU with its cache slot ({@code length}) and key count
     * ({@code keyCount}) read from device memory (I32 [1] each), so the launches are the same at
     * every step and replay from a CUDA graph. Same arithmetic as {@link #forward} with the fused
     * prefill ops off; reads {@code x}, writes {@code s.residual()} as it does.
     */
    void forwardStep(CudaBackend b, Tensor x, ScratchRows s, Tensor cos, Tensor sin, KvCache cache, Tensor length,
                     Tensor keyCount, boolean[] activeHeads) {
        project(b, s, cos, sin);
        b.appendKv(s.k().reshape(1, kvHeads, headDim), s.v().reshape(1, kvHeads, headDim), cache.keyBlock(layer),
                cache.valueBlock(layer), length);
        b.decodeAttention(s.q().reshape(1, heads, headDim), cache.keyBlock(layer), cache.valueBlock(layer), keyCount,
                scale, s.attention().reshape(1, heads, headDim), activeHeads);
        outputProjection(b, s, x, false);
    }

    /**
     * {@code s.residual() = x + o_proj(s.attention())}: one {@link Backend#linearAddResidual} when
     * {@code fused}, else {@link Backend#linear} into {@code s.projected()} and {@link Backend#add}.
     */
    private void outputProjection(Backend b, ScratchRows s, Tensor x, boolean fused) {
        if (fused) {
            b.linearAddResidual(s.attention(), w.o(), w.oBias(), x, s.residual());
        } else {
            b.linear(s.attention(), w.o(), w.oBias(), s.projected());
            b.add(x, s.projected(), s.residual());
        }
    }

    /**
     * {@link #forwardStep} preceded by the layer's input RMSNorm and followed by the residual add,
     * fused: q, k, v = linear(rmsNorm(x)) in one launch, RoPE of q and k with the cache append in
     * one, then attention ({@link CudaBackend#ropeAppendKvDecodeAttention}: the two in one launch under
     * {@code -Dglimpse.cuda.decodeRopeAttention=true} where the wide kernel runs; nothing reads q after
     * it), then {@code s.residual() = x + o_proj(attention)} in one. Reads
     * {@code x} [1, hidden], writes {@code s.residual()}.
     */
    void forwardStepFused(CudaBackend b, Tensor x, Tensor inputNorm, float eps, ScratchRows s, Tensor cos, Tensor sin,
                          KvCache cache, Tensor length, Tensor keyCount, boolean[] activeHeads) {
        b.rmsNormLinear(x, inputNorm, eps, List.of(new LinearTarget(w.q(), w.qBias(), s.q()),
                new LinearTarget(w.k(), w.kBias(), s.k()), new LinearTarget(w.v(), w.vBias(), s.v())));
        b.ropeAppendKvDecodeAttention(s.q().reshape(1, heads, headDim), s.k().reshape(1, kvHeads, headDim),
                s.v().reshape(1, kvHeads, headDim), cos, sin, cache.keyBlock(layer), cache.valueBlock(layer), length,
                keyCount, scale, s.attention().reshape(1, heads, headDim), activeHeads);
        b.linearAddResidual(s.attention(), w.o(), w.oBias(), x, s.residual());
    }

    /** q, k, v projections of {@code s.normed()} ({@link #products}), then RoPE on q and k in place. */
    void project(Backend b, ScratchRows s, Tensor cos, Tensor sin) {
        int n = s.n();
        products(b, s);
        Tensor q = s.q().reshape(n, heads, headDim);
        Tensor k = s.k().reshape(n, kvHeads, headDim);
        b.rope(q, cos, sin, q);
        b.rope(k, cos, sin, k);
    }

    /**
     * q, k, v projections of {@code s.normed()} into {@code s.q()}, {@code s.k()}, {@code s.v()}. Where
     * the layer's weights are stacked ({@link LayerWeights#stacks}) they run as one stacked product
     * (q/k/v, or q alone and k/v) writing the scratch's stacked views, which are q, k and v.
     */
    private void products(Backend b, ScratchRows s) {
        ProjectionStacks stacks = w.stacks();
        if (stacks != null && stacks.qkv() != null && s.qkv() != null) {
            b.linearStack(s.normed(), stacks.qkv(), stacks.qkvBias(), s.qkv());
        } else if (stacks != null && stacks.kv() != null) {
            b.linear(s.normed(), w.q(), w.qBias(), s.q());
            b.linearStack(s.normed(), stacks.kv(), stacks.kvBias(), s.kv());
        } else {
            b.linear(s.normed(), w.q(), w.qBias(), s.q());
            b.linear(s.normed(), w.k(), w.kBias(), s.k());
            b.linear(s.normed(), w.v(), w.vBias(), s.v());
        }
    }
}
