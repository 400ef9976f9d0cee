package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
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
 *
 * <p>Everything runs over the whole batch at once. Attention of a batch without taps is one
 * {@link Backend#attention} call with the images side by side as heads: the attention input is
 * copied to token-major rows [tokens, batch, hidden], so q, k, v and the attention output are
 * [tokens, batch * heads, head_dim] as they are, and the output projection is copied back to
 * image-major rows before the output projection, in that projection's input dtype (two copies of
 * [batch, tokens, hidden] instead of a launch per image: a 32-frame video is one attention launch
 * of 32 x heads heads per layer). Each (image, head) pair attends over its own image's keys
 * exactly as before. With taps, whose captures are per image, attention runs image by image.
 * Under {@link VisionLayout} (the default; {@code -Dglimpse.cuda.visionLayout=false} turns it off) layer_norm1 writes the
 * token-major rows itself ({@link Backend#layerNormTokenMajor}: the same values, no copy) and q, k
 * and v are one stacked product over the layer's concatenated weights where it has them
 * ({@link Backend#linearStack}); with 16-bit GEMM inputs the attention also stores its output
 * image-major in out_proj's 16-bit input itself ({@link Backend#attentionImagesAsHeads}: the rounded
 * values the copy back stored), so neither copy runs.
 *
 * <p>The output projections join the residual stream through {@link Backend#linearAddResidual} and
 * fc1 meets its activation through {@link Backend#linearActivation}: on CUDA with 16-bit weights
 * cuBLASLt adds the residual (beta = 1) and applies gelu_pytorch_tanh in its epilogues, so neither
 * the projected F32 tensor nor the F32 fc1 output is written and read back
 * ({@code -Dglimpse.cuda.gemmEpilogues=false} for the separate passes).
 *
 * <p>With F16/BF16 weights on a backend whose GEMM rounds its input to them anyway
 * ({@link Backend#halfActivationsForGemm}, CUDA with more than 8 rows), the two layer norms and
 * the activation write the weights' dtype straight into 16-bit scratch ({@link ForwardScratch#normedHalf},
 * {@link ForwardScratch#mlpHalf}): F32 math rounded to nearest even on store, the bits the GEMM's
 * own conversion produced before, so q/k/v, fc1 and fc2 see identical operands and the conversion
 * passes go away. The residual stream, q/k/v and the attention output stay F32; out_proj reads the
 * attention output rounded to 16 bits by the images-as-heads copy (the rounding its GEMM applied).
 *
 * <p>Under {@code glimpse.cuda.towerLean} ({@link CudaBackend#towerLeanEnabled}, default true, read
 * at every pass; the tower's CUDA graphs are keyed by it as by every {@code glimpse.cuda.*} property,
 * {@link TowerGraphKey}) the image-by-image attention (batch 1 as LLaVA-1.5 runs it, or a batch with taps)
 * also stores out_proj's 16-bit input itself: each image is {@link Backend#attentionImagesAsHeads} of one
 * image into its rows of {@link ForwardScratch#normedHalf}, the packed kernel's pass with each output row
 * rounded as out_proj's {@code convert_f32} rounded the F32 rows, so the F32 rows and that pass go away
 * and the bits stay. It applies with 16-bit GEMM inputs where no tap reads the attention call
 * ({@link TapBuffers#readsAttentionCall}): untapped layers and VTC-CLS's [CLS] rows composed after the pass;
 * a layer tapped for the mean attention or head output norms keeps the F32 rows. The same property packs K
 * and V in one launch and runs quick_gelu four elements per thread (CLIP's fc1 has no cuBLASLt epilogue),
 * with the same bits.
 *
 * <p>Under {@code glimpse.cuda.towerMlp16} ({@link CudaBackend#towerMlp16Enabled}, default true, read at
 * every pass; the tower's graphs are keyed by it) fc1 with an activation that has no cuBLASLt epilogue (CLIP's
 * quick_gelu; SigLIP's gelu_pytorch_tanh keeps its GELU epilogue) writes {@link ForwardScratch#mlpHalf} in the
 * weights' 16-bit dtype from cuBLASLt's bias epilogue and the activation runs in place on those rows, eight
 * values per thread: at CLIP-L/336's 577 tokens a layer moves 4.7 + 4.7 + 4.7 MB where the F32 fc1 output
 * moved 9.4 + 9.4 + 4.7. The values change. With y = x W^T + b summed in F32, the F32 path ({@code =false}) stores
 * {@code round(quick_gelu(y))}, one rounding; HF's bf16 {@code CLIPMLP} rounds fc1's output,
 * {@code y' = round(y)}, then evaluates {@code y' * sigmoid(1.702 * y')} as three bf16 ops, rounding after each;
 * this path stores {@code round(quick_gelu(y'))}: HF's rounded y', the activation in F32 from it, one rounding.
 * It differs from HF only by the two intermediate roundings (of {@code 1.702 * y'} and of the sigmoid), each
 * within half a unit of the 16-bit type, where the F32 path also differs by y's rounding, which reaches
 * fc2 through every element; both are far inside the parity tolerances (GPU vs the CPU's F32 tower 5e-2
 * normalised; LLaVA bf16 logits 0.4 from HF), which already absorb bf16 GEMM inputs and attention.
 *
 * <p>Attention runs at the precision of the layer's weights ({@link AttentionPrecision#forWeights}:
 * BF16 or F16 for a BF16 or F16 checkpoint, operands rounded as HF's sdpa rounds them); with taps
 * that read the pass itself (mean attention received, output norms: {@link TapBuffers#readsForwardPass})
 * it runs F32. [CLS] attention rows (VTC-CLS) are recomputed exactly by the backend, so a layer
 * tapped only for them keeps the model's precision and computes the same output as untapped.
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
    private final AttentionPrecision precision;

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
        this.precision = AttentionPrecision.forWeights(weights.query().weight().dtype());
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

        boolean half = scratch.normedHalf != null && backend.halfActivationsForGemm(batch * tokens);
        Tensor normed = half ? ForwardScratch.view(scratch.normedHalf, batch, tokens, hidden) : x;
        boolean imagesAsHeads = taps == null && batch > 1;
        boolean copyFree = VisionLayout.enabled();
        Tensor attentionInput = normed;
        if (imagesAsHeads) {
            attentionInput = ForwardScratch.view(half ? scratch.mlpHalf : scratch.residualMid, tokens, batch, hidden);
            if (copyFree) {
                backend.layerNormTokenMajor(h, w.layerNorm1().weight(), w.layerNorm1().bias(), eps, attentionInput);
            } else {
                backend.layerNorm(h, w.layerNorm1().weight(), w.layerNorm1().bias(), eps, normed);
                backend.copy(normed.transpose(0, 1), attentionInput);
            }
        } else {
            backend.layerNorm(h, w.layerNorm1().weight(), w.layerNorm1().bias(), eps, normed);
        }
        projectQkv(scratch, attentionInput, copyFree, q, k, v);
        boolean attendImageMajor = imagesAsHeads && copyFree && half;
        Tensor attended = x;
        if (attendImageMajor) {
            int allHeads = batch * heads;
            attended = ForwardScratch.view(scratch.normedHalf, batch, tokens, hidden);
            backend.attentionImagesAsHeads(q.reshape(tokens, allHeads, headDim), k.reshape(tokens, allHeads, headDim),
                    v.reshape(tokens, allHeads, headDim), scale, attended, precision);
        } else if (imagesAsHeads) {
            int allHeads = batch * heads;
            backend.attention(q.reshape(tokens, allHeads, headDim), k.reshape(tokens, allHeads, headDim),
                    v.reshape(tokens, allHeads, headDim), AttentionMask.BIDIRECTIONAL, scale,
                    x.reshape(tokens, allHeads, headDim), null, null, precision);
        } else if (leanHalfAttention(half, taps)) {
            attended = ForwardScratch.view(scratch.normedHalf, batch, tokens, hidden);
            for (int b = 0; b < batch; b++) {
                backend.attentionImagesAsHeads(heads(q, b, tokens), heads(k, b, tokens), heads(v, b, tokens), scale,
                        attended.slice(0, b, b + 1), precision);
                if (taps != null) {
                    taps.afterAttention(b, null, heads(q, b, tokens), heads(k, b, tokens), scale);
                }
            }
        } else {
            for (int b = 0; b < batch; b++) {
                Tensor attnOut = heads(x, b, tokens);
                backend.attention(heads(q, b, tokens), heads(k, b, tokens), heads(v, b, tokens),
                        AttentionMask.BIDIRECTIONAL, scale, attnOut, taps == null ? null : taps.capture(b), null,
                        precision.unlessScored(taps != null && taps.readsForwardPass()));
                if (taps != null) {
                    taps.afterAttention(b, attnOut, heads(q, b, tokens), heads(k, b, tokens), scale);
                }
            }
        }
        if (imagesAsHeads && !attendImageMajor) {
            attended = half ? ForwardScratch.view(scratch.normedHalf, batch, tokens, hidden) : q;
            backend.copy(x.reshape(tokens, batch, hidden).transpose(0, 1), attended);
        }
        backend.linearAddResidual(attended, w.output().weight(), w.output().bias(), h, mid);

        backend.layerNorm(mid, w.layerNorm2().weight(), w.layerNorm2().bias(), eps, normed);
        Tensor activated = ForwardScratch.view(half ? scratch.mlpHalf : scratch.mlp, batch, tokens, intermediate);
        backend.linearActivation(activation, normed, w.fc1().weight(), w.fc1().bias(), activated);
        backend.linearAddResidual(activated, w.fc2().weight(), w.fc2().bias(), mid, h);
    }

    /**
     * Whether image-by-image attention stores out_proj's 16-bit input itself under
     * {@code -Dglimpse.cuda.towerLean=true} ({@link CudaBackend#towerLeanEnabled}, read now): with 16-bit
     * GEMM inputs and no tap that reads the attention call ({@link TapBuffers#readsAttentionCall}), each
     * image is {@link Backend#attentionImagesAsHeads} of one image into its rows of the 16-bit buffer,
     * the values out_proj's own rounding of the F32 rows gave (on CUDA the packed kernel's pass with a
     * 16-bit store: no F32 rows, no {@code convert_f32}).
     */
    private static boolean leanHalfAttention(boolean half, TapBuffers taps) {
        return half && CudaBackend.towerLeanEnabled() && (taps == null || !taps.readsAttentionCall());
    }

    /**
     * q, k and v of {@code input} ([.., hidden], rows in either order) into the fronts of their
     * scratch buffers: one stacked product where {@code stacked} and the weights carry a q/k/v stack
     * ({@link VisionWeights.BlockWeights#qkv}), else three.
     */
    private void projectQkv(ForwardScratch scratch, Tensor input, boolean stacked, Tensor q, Tensor k, Tensor v) {
        int rows = Math.toIntExact(input.numel() / hidden);
        Tensor rowsOfInput = input.reshape(rows, hidden);
        if (stacked && w.qkv() != null) {
            backend.linearStack(rowsOfInput, w.qkv(), w.qkvBias(), scratch.qkvStack(rows, hidden));
            return;
        }
        backend.linear(input, w.query().weight(), w.query().bias(), q.reshape(input.shape()));
        backend.linear(input, w.key().weight(), w.key().bias(), k.reshape(input.shape()));
        backend.linear(input, w.value().weight(), w.value().bias(), v.reshape(input.shape()));
    }

    /** Image b of a [batch, tokens, hidden] buffer as [tokens, heads, head_dim]. */
    private Tensor heads(Tensor t, int b, int tokens) {
        return t.select(0, b).reshape(tokens, heads, headDim);
    }
}
