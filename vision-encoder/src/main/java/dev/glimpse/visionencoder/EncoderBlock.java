package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.config.VisionConfig;

/**
 * One pre-LN transformer layer of a CLIP or SigLIP vision tower ({@code CLIPEncoderLayer},
 * {@code SiglipEncoderLayer}; the two are the same computation):
 * <pre>
 *   h = h + out_proj(attention(layer_norm1(h)))      bidirectional, scale head_dim^-0.5
 *   h = h + fc2(act(fc1(layer_norm2(h))))            act = config hidden_act
 * </pre>
 * {@code CLIPAttention} / {@code SiglipAttention} project q, k and v with bias, split the hidden
 * dim into heads ({@code view(B, N, heads, head_dim)}) and apply {@code eager_attention_forward}.
 * Attention runs per image; everything else over the whole batch.
 */
final class EncoderBlock {

    private final Backend backend;
    private final VisionWeights.BlockWeights w;
    private final int heads;
    private final int headDim;
    private final int hidden;
    private final int intermediate;
    private final float eps;
    private final float scale;
    private final Activation activation;

    EncoderBlock(Backend backend, VisionConfig config, VisionWeights.BlockWeights weights) {
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
     * Runs the layer on the {@code tokens}-long sequences in {@code scratch.residual} ([batch,
     * tokens, hidden] from the buffer's front) and leaves the output there. {@code taps} (null for
     * none) receives the statistics of image b in row b of each of its tensors.
     */
    void forward(ForwardScratch scratch, int batch, int tokens, TapBuffers taps) {
        Tensor h = ForwardScratch.view(scratch.residual, batch, tokens, hidden);
        Tensor mid = ForwardScratch.view(scratch.residualMid, batch, tokens, hidden);
        Tensor x = ForwardScratch.view(scratch.normed, batch, tokens, hidden);
        Tensor q = ForwardScratch.view(scratch.query, batch, tokens, hidden);
        Tensor k = ForwardScratch.view(scratch.key, batch, tokens, hidden);
        Tensor v = ForwardScratch.view(scratch.value, batch, tokens, hidden);
        Tensor proj = ForwardScratch.view(scratch.projected, batch, tokens, hidden);
        Tensor mlp = ForwardScratch.view(scratch.mlp, batch, tokens, intermediate);

        backend.layerNorm(h, w.layerNorm1().weight(), w.layerNorm1().bias(), eps, x);
        backend.linear(x, w.query().weight(), w.query().bias(), q);
        backend.linear(x, w.key().weight(), w.key().bias(), k);
        backend.linear(x, w.value().weight(), w.value().bias(), v);
        for (int b = 0; b < batch; b++) {
            Tensor attnOut = heads(x, b, tokens);
            backend.attention(heads(q, b, tokens), heads(k, b, tokens), heads(v, b, tokens),
                    AttentionMask.BIDIRECTIONAL, scale, attnOut, taps == null ? null : taps.capture(b));
            if (taps != null) {
                taps.afterAttention(b, attnOut);
            }
        }
        backend.linear(x, w.output().weight(), w.output().bias(), proj);
        backend.add(h, proj, mid);

        backend.layerNorm(mid, w.layerNorm2().weight(), w.layerNorm2().bias(), eps, x);
        backend.linear(x, w.fc1().weight(), w.fc1().bias(), mlp);
        backend.activation(activation, mlp, mlp);
        backend.linear(mlp, w.fc2().weight(), w.fc2().bias(), proj);
        backend.add(mid, proj, h);
    }

    /** Image b of a [batch, tokens, hidden] buffer as [tokens, heads, head_dim]. */
    private Tensor heads(Tensor t, int b, int tokens) {
        return t.select(0, b).reshape(tokens, heads, headDim);
    }
}
