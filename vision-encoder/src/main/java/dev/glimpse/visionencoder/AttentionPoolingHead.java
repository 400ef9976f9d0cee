package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.config.VisionConfig;

/**
 * SigLIP's multihead attention pooling ({@code SiglipMultiheadAttentionPoolingHead},
 * {@code modeling_siglip.py}): a learned probe query attends over the post-layernorm tokens through
 * {@code nn.MultiheadAttention} (packed {@code in_proj}, scale head_dim^-0.5, {@code out_proj}),
 * then {@code x + mlp(layernorm(x))}; the pooled vector is that single row. The probe's softmax row
 * per head is SigLIP's substitute for [CLS] attention and can be recorded.
 */
final class AttentionPoolingHead {

    private final Backend backend;
    private final VisionWeights.PoolingHeadWeights w;
    private final int heads;
    private final int headDim;
    private final int hidden;
    private final int intermediate;
    private final float eps;
    private final float scale;
    private final Activation activation;

    AttentionPoolingHead(Backend backend, VisionConfig config, VisionWeights.PoolingHeadWeights weights) {
        this.backend = backend;
        this.w = weights;
        this.heads = config.numAttentionHeads();
        this.headDim = config.headDim();
        this.hidden = config.hiddenSize();
        this.intermediate = config.intermediateSize();
        this.eps = (float) config.layerNormEps();
        this.scale = (float) Math.pow(headDim, -0.5);
        this.activation = Activation.fromHfName(config.hiddenAct());
    }

    /**
     * Pools {@code tokens} [B, N, hidden] into {@code pooled} [B, hidden]; records the probe's
     * attention into {@code probeAttention} [B, heads, N] unless it is null, from the attention
     * call's capture or, with {@code probeRowByProducts}, by {@link QueryAttentionRow} (for passes
     * replayed from CUDA graphs). Uses the scratch's key and value buffers.
     */
    void forward(Tensor tokens, ForwardScratch scratch, Tensor pooled, Tensor probeAttention, boolean probeRowByProducts) {
        int batch = tokens.dim(0);
        int n = tokens.dim(1);
        Tensor k = ForwardScratch.view(scratch.key, batch, n, hidden);
        Tensor v = ForwardScratch.view(scratch.value, batch, n, hidden);
        backend.linear(tokens, w.key().weight(), w.key().bias(), k);
        backend.linear(tokens, w.value().weight(), w.value().bias(), v);
        try (Tensor q = backend.allocate(DType.F32, 1, hidden);
             Tensor attended = backend.allocate(DType.F32, batch, hidden);
             Tensor x = backend.allocate(DType.F32, batch, hidden);
             Tensor normed = backend.allocate(DType.F32, batch, hidden);
             Tensor mlp = backend.allocate(DType.F32, batch, intermediate);
             Tensor mlpOut = backend.allocate(DType.F32, batch, hidden)) {
            backend.linear(w.probe(), w.query().weight(), w.query().bias(), q);
            Tensor qHeads = q.reshape(1, heads, headDim);
            for (int b = 0; b < batch; b++) {
                Tensor keys = k.select(0, b).reshape(n, heads, headDim);
                Tensor probeRow = probeAttention == null ? null : probeAttention.select(0, b).reshape(heads, 1, n);
                AttentionCapture capture = probeRow == null || probeRowByProducts ? null
                        : AttentionCapture.rows(new int[] {0}, probeRow);
                backend.attention(qHeads, keys, v.select(0, b).reshape(n, heads, headDim), AttentionMask.BIDIRECTIONAL,
                        scale, attended.select(0, b).reshape(1, heads, headDim), capture);
                if (probeRow != null && probeRowByProducts) {
                    QueryAttentionRow.compute(backend, qHeads, keys, scale, probeRow);
                }
            }
            backend.linear(attended, w.output().weight(), w.output().bias(), x);
            backend.layerNorm(x, w.layerNorm().weight(), w.layerNorm().bias(), eps, normed);
            backend.linear(normed, w.fc1().weight(), w.fc1().bias(), mlp);
            backend.activation(activation, mlp, mlp);
            backend.linear(mlp, w.fc2().weight(), w.fc2().bias(), mlpOut);
            backend.add(x, mlpOut, pooled);
        }
    }
}
