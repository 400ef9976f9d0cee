package dev.glimpse.kernels;

import dev.glimpse.kernels.image.PixelNormalization;

import java.util.List;

/**
 * The operations transformer inference needs, on one device. Every model in Glimpse runs on this
 * interface; nothing above it knows whether it runs on the CPU or a GPU.
 *
 * <p>Conventions: activations are F32 unless said otherwise; weights may be F32, F16 or BF16 and
 * accumulate in F32. Outputs are passed in (allocated once and reused by the caller) and must not
 * alias inputs unless an operation says so. Inputs may be non-contiguous views; outputs are
 * contiguous. "Rows" are all leading dimensions flattened; "last dim" is the innermost axis.
 * Shape or dtype mismatches throw {@link TensorException}.
 */
public interface Backend extends AutoCloseable {

    String name();

    Device device();

    /**
     * A host tensor for values on their way to this backend (pixel values about to be uploaded), whose
     * contents are unspecified: the caller writes every element before it reads or uploads any, and closes it
     * after its uploads are queued. Here plain host memory (zero-filled); a GPU backend may hand out
     * page-locked memory, which its uploads read by DMA without the host waiting for them.
     */
    default Tensor stagingTensor(DType dtype, int... shape) {
        return Tensor.allocate(dtype, shape);
    }

    /**
     * A vision encoder's {@code pixel_values} from 8-bit RGB: {@code rgb} U8 {@code [n, h, w, 3]} (rows of
     * interleaved R, G, B) into {@code out} F32 {@code [n, 3, H, W]} (H >= h, W >= w), {@code norm}'s value
     * inside the image and 0 in the padding at the bottom and right ({@link PixelNormalization#writeHost}, the
     * same bits on every backend). Here on host tensors; a GPU backend does it on its own.
     */
    default void normalizePixels(Tensor rgb, PixelNormalization norm, Tensor out) {
        norm.writeHost(rgb, out);
    }

    // ------------------------------------------------------------------ memory

    /** A zero-filled tensor on this backend's device, owned by the caller (close it). */
    Tensor allocate(DType dtype, int... shape);

    /** A tensor on this device holding the same values as {@code host} (may return it as is). */
    Tensor upload(Tensor host);

    /** A host tensor holding the same values as {@code tensor} (may return it as is). */
    Tensor download(Tensor tensor);

    /** Copies {@code src} into {@code dst} of the same shape, converting dtype if they differ. */
    void copy(Tensor src, Tensor dst);

    // ------------------------------------------------------------------ linear algebra

    /**
     * {@code out[m, n] = sum_k x[m, k] * w[n, k] + bias[n]}: an HF {@code nn.Linear} with weight
     * layout [out_features, in_features]. x and out F32 [.., in] / [.., out] (leading dims are
     * rows); w F32, F16 or BF16; bias null or F32/F16/BF16 [out]. x may also be of w's 16-bit
     * dtype (see {@link #halfActivationsForGemm(int)}); out stays F32.
     */
    void linear(Tensor x, Tensor w, Tensor bias, Tensor out);

    /**
     * {@link #linear} for B weights that share x: {@code out[i] = linear(x, w[i], bias[i])} for
     * w [B, n, k] (the q/k/v or gate/up projections of a layer stacked into one tensor), x [m, k],
     * bias null or [B, n], out F32 [B, m, n] whose out[i] are contiguous (they need not be adjacent).
     * A backend may compute the B products in one pass over the stacked weights (CUDA: one batched
     * GEMM); the default runs them one by one.
     */
    default void linearStack(Tensor x, Tensor w, Tensor bias, Tensor out) {
        if (w.rank() != 3 || out.rank() != 3 || out.dim(0) != w.dim(0)) {
            throw new TensorException("linearStack needs w [B, n, k] and out [B, m, n], got " + w + " and " + out);
        }
        for (int i = 0; i < w.dim(0); i++) {
            linear(x, w.select(0, i), bias == null ? null : bias.select(0, i), out.select(0, i));
        }
    }

    /**
     * {@code out = f(x w^T + bias)}: {@link #linear} then {@link #activation}, the MLP's first half.
     * x, w and bias as {@link #linear}; out [.., n] F32 or F16/BF16 (the pre-activation and f in
     * F32, rounded to nearest even on store). A backend may fold f into its GEMM (CUDA: GELU in
     * cuBLASLt's epilogue), so the F32 pre-activation need not exist; results then differ from the
     * composition by F32 rounding only. This default is the composition, through an F32 scratch
     * tensor when out is 16-bit.
     */
    default void linearActivation(Activation f, Tensor x, Tensor w, Tensor bias, Tensor out) {
        if (out.dtype() == DType.F32) {
            linear(x, w, bias, out);
            activation(f, out, out);
            return;
        }
        try (Tensor pre = allocate(DType.F32, out.shape())) {
            linear(x, w, bias, pre);
            activation(f, pre, out);
        }
    }

    /**
     * {@code out = residual + linear(x, w, bias)}: a linear layer whose output joins the residual
     * stream (o_proj, down_proj). residual is F32 of out's shape. A backend may add the residual
     * inside the product (CUDA: the GEMM epilogue reads it, or the fused decode GEMV); the default
     * is {@link #linear} into out then {@link #add}{@code (residual, out, out)}, the same two
     * roundings, and needs out distinct from residual (an elementwise add may write the operand it
     * reads at the same index).
     */
    default void linearAddResidual(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        if (out == residual) {
            throw new TensorException("linearAddResidual: this backend needs out distinct from residual " + residual);
        }
        linear(x, w, bias, out);
        add(residual, out, out);
    }

    /**
     * True when this backend's {@link #linear} with F16/BF16 weights and {@code rows} rows of x
     * rounds x to the weights' dtype anyway (tensor-core GEMMs of prefill and vision towers), so a
     * model gains by producing that x in the weights' dtype: the norm or activation whose output
     * only feeds such products may write F16/BF16 (F32 math, rounded to nearest even on store, the
     * very rounding the product would have applied), saving a conversion pass and half the
     * activation traffic with identical values. False (the default) where the product reads F32 x
     * exactly: on the CPU, and on CUDA for the few rows of a decode step (its GEMV). See
     * {@link GemmInputs}.
     */
    default boolean halfActivationsForGemm(int rows) {
        return false;
    }

    /**
     * {@code out[b] = alpha * a[b] @ op(bm[b])} with op = transpose when {@code transposeB}; all F32,
     * rank 3: a [B, M, K], bm [B, K, N] or [B, N, K], out [B, M, N].
     */
    void batchedMatmul(Tensor a, Tensor bm, boolean transposeB, float alpha, Tensor out);

    // ------------------------------------------------------------------ elementwise

    /** out = a + b; b has a's shape or a suffix of it (broadcast over leading dims). */
    void add(Tensor a, Tensor b, Tensor out);

    /** out = a * b; b has a's shape or a suffix of it (broadcast over leading dims). */
    void mul(Tensor a, Tensor b, Tensor out);

    /** out = a * s. out may be a. */
    void scale(Tensor a, float s, Tensor out);

    /** out = f(x). out may be x. out may be F16/BF16 (F32 math, rounded to nearest even on store). */
    void activation(Activation f, Tensor x, Tensor out);

    /**
     * out = f(gate) * up: the gated MLP of Llama/Qwen2 (SwiGLU when f is SiLU). out may be
     * F16/BF16 (F32 math, rounded to nearest even on store).
     */
    void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out);

    // ------------------------------------------------------------------ normalisation (last dim)

    /** Softmax over the last dim, computed stably (max subtracted). out may be x. */
    void softmax(Tensor x, Tensor out);

    /**
     * LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * gamma + beta (biased var). out
     * may be F16/BF16 (F32 math, rounded to nearest even on store).
     */
    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out);

    /**
     * {@link #layerNorm} of image-major rows x [batch, tokens, n] into token-major rows out
     * [tokens, batch, n] (contiguous, F32 or F16/BF16): out[t, b] = layerNorm(x[b, t]), the same
     * values as {@link #layerNorm} then a transposing copy (the input of a vision tower's
     * images-as-heads attention). A backend may write the remapped rows directly (CUDA: one kernel);
     * this default is that composition through a scratch tensor of out's dtype.
     */
    default void layerNormTokenMajor(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        if (x.rank() != 3 || out.rank() != 3 || out.dim(0) != x.dim(1) || out.dim(1) != x.dim(0)
                || out.dim(2) != x.dim(2)) {
            throw new TensorException("layerNormTokenMajor needs x [batch, tokens, n] and out [tokens, batch, n], got "
                    + x + " and " + out);
        }
        try (Tensor imageMajor = allocate(out.dtype(), x.shape())) {
            layerNorm(x, gamma, beta, eps, imageMajor);
            copy(imageMajor.transpose(0, 1), out);
        }
    }

    /**
     * RMSNorm as Llama: x * rsqrt(mean(x^2) + eps) * gamma, computed in F32. out may be F16/BF16
     * (rounded to nearest even on store).
     */
    void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out);

    /** out[..] = L2 norm of x over the last dim (e.g. per-head attention-output norms). */
    void l2Norm(Tensor x, Tensor out);

    // ------------------------------------------------------------------ positions and attention

    /**
     * Rotary position embedding, HF "rotate_half" layout: x [T, H, D]; cos, sin [T, R/2] for the
     * first R <= D dims of every head (R = D for Llama/Qwen2); dims past R pass through.
     * For i < R/2: out_i = x_i cos_i - x_{i+R/2} sin_i, out_{i+R/2} = x_{i+R/2} cos_i + x_i sin_i.
     * out may be x.
     */
    void rope(Tensor x, Tensor cos, Tensor sin, Tensor out);

    /**
     * Scaled dot-product attention with grouped heads. q [T, Hq, D]; k, v [S, Hkv, D] with
     * Hq % Hkv == 0 (query head h reads kv head h / (Hq / Hkv)); out [T, Hq, D].
     * probs = softmax(scale * q k^T + mask); out = probs v. {@code capture} may be null.
     */
    default void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                           AttentionCapture capture) {
        attention(q, k, v, mask, scale, out, capture, null);
    }

    /**
     * {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, Tensor, AttentionCapture)}
     * with some query heads switched off (SpAtten head pruning): {@code activeHeads} [Hq] (null: all
     * run) says which query heads run; a head that does not writes exactly zero to its output rows
     * (its contribution to {@code o_proj} is removed) and, when captured, zero probabilities and
     * column sums. Heads that run are computed exactly as without a mask, so an all-true mask is
     * bit-identical to null. Masks are per query head, also under grouped-query attention.
     */
    default void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                           AttentionCapture capture, boolean[] activeHeads) {
        attention(q, k, v, mask, scale, out, capture, activeHeads, AttentionPrecision.F32);
    }

    /**
     * {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, Tensor, AttentionCapture, boolean[])}
     * at {@code precision} (a model's {@link AttentionPrecision#forWeights}). Captured rows and
     * column sums are always F32-exact: rows are recomputed from q and k for the chosen queries
     * whatever the pass's precision, and a pass that captures column sums (which read its softmax
     * statistics) computes at {@link AttentionPrecision#F32}.
     */
    void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                   AttentionCapture capture, boolean[] activeHeads, AttentionPrecision precision);

    /**
     * Bidirectional attention over images side by side as heads, written image-major: q, k, v
     * [tokens, images * heads, D] (image b's head h at b * heads + h, as a projection of token-major
     * rows [tokens, images, hidden] gives them), out [images, tokens, heads * D] contiguous, F32 or
     * F16/BF16 (rounded to nearest even): out[b, t, h D + d] is output (t, b * heads + h, d) of
     * {@link #attention} at {@code precision}, so the next projection reads it as it is. This default
     * is that attention into F32 scratch then a transposing copy; a backend may store the rows where
     * they go (CUDA: the 16-bit mma kernels with a 16-bit out of the precision's type).
     */
    default void attentionImagesAsHeads(Tensor q, Tensor k, Tensor v, float scale, Tensor out,
                                        AttentionPrecision precision) {
        int images = out.rank() == 3 ? out.dim(0) : 0;
        if (q.rank() != 3 || images == 0 || q.dim(1) % images != 0 || out.dim(1) != q.dim(0)
                || (long) out.dim(2) != (long) q.dim(1) / images * q.dim(2)) {
            throw new TensorException("attentionImagesAsHeads needs q [tokens, images * heads, D] and out [images, tokens,"
                    + " heads * D], got " + q + " and " + out);
        }
        try (Tensor rows = allocate(DType.F32, q.shape())) {
            attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, rows, null, null, precision);
            copy(rows.reshape(q.dim(0), images, out.dim(2)).transpose(0, 1), out);
        }
    }

    // ------------------------------------------------------------------ indexing and selection

    /** out[t] = table[ids[t]] converted to F32; table [V, D] any float dtype; out [T, D]. */
    void embedding(Tensor table, int[] ids, Tensor out);

    /** out[i] = x[rows[i]] along dim 0 (index-select); out has x's shape with dim 0 = rows.length. */
    void gatherRows(Tensor x, int[] rows, Tensor out);

    /**
     * {@link #gatherRows(Tensor, int[], Tensor)} with the row indices in a tensor of this backend,
     * I32 [R] packed (e.g. a {@link #topK}'s indices): a device backend reads them where they are,
     * so a gather behind a device-side selection queues without the host waiting for it (CUDA). This
     * default reads them to the host first.
     */
    default void gatherRows(Tensor x, Tensor rows, Tensor out) {
        if (rows.dtype() != DType.I32 || rows.rank() != 1) {
            throw new TensorException("gatherRows: rows must be I32 [R], got " + rows);
        }
        if (rows.device().isHost()) {
            gatherRows(x, rows.toIntArray(), out);
            return;
        }
        try (Tensor host = download(rows)) {
            gatherRows(x, host.toIntArray(), out);
        }
    }

    /**
     * Token scores from attention rows: for blocks {@code rows} (one per layer, each F32
     * [heads, first + n], all one shape), {@code out[0, i] = sum_l (sum_h rows_l[h, first + i]) / heads},
     * summed in double (heads in order within a layer, then layers in order) and rounded to F32
     * once, on every backend the same bits. VTC-CLS's [CLS]-attention ensemble ({@code first = 1}
     * skips [CLS]'s own column) and SigLIP's probe-attention mean (one block, {@code first = 0});
     * the scores stay where the rows are, for {@link #topK}. out: F32 [1, n].
     */
    void attentionRowScores(List<Tensor> rows, int first, Tensor out);

    /** Concatenation along {@code axis}; out's shape is the parts' with that axis summed. */
    void concat(int axis, List<Tensor> parts, Tensor out);

    /** Index of the largest value of each row of x [rows, n] (first index on ties). */
    int[] argmax(Tensor x);

    /**
     * The k largest values of each row of scores [rows, n] and their indices, in O(n) per row
     * (selection, never a full sort). Ties keep the lower index; NaN counts as smaller than any
     * number. k must be in [0, n].
     */
    TopK topK(Tensor scores, int k, TopK.Order order);

    @Override
    void close();
}
