package dev.glimpse.visionencoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;

import java.util.function.UnaryOperator;

/**
 * The tensors one tapped layer records into, [batch, heads, N] each (null for kinds not asked
 * for), and how they are filled: the [CLS] row and the column sums come from the attention kernel
 * itself ({@link AttentionCapture}: no N x N map is materialised; for passes replayed from CUDA
 * graphs the [CLS] row is composed after the pass by {@link QueryAttentionRow}), the mean divides the sums by
 * the N queries, and head-output norms are the L2 norms of the per-head slices of the attention
 * output before {@code out_proj}.
 */
final class TapBuffers {

    private final Backend backend;
    private final int tokens;
    private final int heads;
    private final Tensor cls;
    private final Tensor mean;
    private final Tensor norms;
    /** True when the [CLS] rows come from {@link QueryAttentionRow} after the pass, not from its capture. */
    private final boolean clsRowsByProducts;

    /**
     * Buffers for what {@code taps} asks at {@code layer}, taken from {@code outputs} (the caller's
     * to free); {@code clsRowsByProducts} computes [CLS] rows with {@link QueryAttentionRow} instead
     * of the attention call's capture (for passes replayed from CUDA graphs).
     */
    TapBuffers(Backend backend, VisionTransformer.OutputTensors outputs, VisionTaps taps, int layer, int batch, int heads,
               int tokens, boolean clsRowsByProducts) {
        this.backend = backend;
        this.clsRowsByProducts = clsRowsByProducts;
        this.tokens = tokens;
        this.heads = heads;
        this.cls = taps.wants(layer, VisionTaps.Tap.CLS_ATTENTION) ? outputs.allocate(batch, heads, tokens) : null;
        this.mean = taps.wants(layer, VisionTaps.Tap.MEAN_ATTENTION_RECEIVED) ? outputs.allocate(batch, heads, tokens) : null;
        this.norms = taps.wants(layer, VisionTaps.Tap.HEAD_OUTPUT_NORMS) ? outputs.allocate(batch, heads, tokens) : null;
    }

    /** What the attention kernel should record for image b, or null. */
    AttentionCapture capture(int b) {
        boolean rows = cls != null && !clsRowsByProducts;
        if (!rows && mean == null) {
            return null;
        }
        return new AttentionCapture(rows ? new int[] {0} : null, rows ? cls.select(0, b).reshape(heads, 1, tokens) : null,
                mean == null ? null : mean.select(0, b));
    }

    /**
     * True when a tap reads the attention pass itself (mean attention received: column sums against
     * its log-sum-exps; output norms: its output), which must then run at F32; [CLS] rows alone are
     * recomputed exactly by the backend, so the pass keeps the model's precision.
     */
    boolean readsForwardPass() {
        return mean != null || norms != null;
    }

    /**
     * True when the attention call itself must hand this layer something: a capture (the [CLS] rows of
     * a pass not replayed from a graph, the column sums of the mean) or its F32 output (head-output
     * norms). False when only [CLS] rows composed after the pass from q and k are tapped
     * ({@link QueryAttentionRow}): the pass is then the untapped one and may store its output where the
     * next product reads it.
     */
    boolean readsAttentionCall() {
        return (cls != null && !clsRowsByProducts) || mean != null || norms != null;
    }

    /**
     * Finishes image b's statistics from its attention output [N, heads, head_dim] (null where the pass
     * wrote none: only without {@link #readsAttentionCall}), and its F32 queries and keys [N, heads,
     * head_dim] with the pass's scale (for [CLS] rows by products).
     */
    void afterAttention(int b, Tensor attentionOutput, Tensor queries, Tensor keys, float scale) {
        if (attentionOutput == null && readsAttentionCall()) {
            throw new IllegalStateException("a tapped layer that reads its attention call needs the call's F32 output");
        }
        if (cls != null && clsRowsByProducts) {
            QueryAttentionRow.compute(backend, queries.slice(0, 0, 1), keys, scale, cls.select(0, b).reshape(heads, 1, tokens));
        }
        if (mean != null) {
            Tensor m = mean.select(0, b);
            backend.scale(m, 1f / tokens, m);
        }
        if (norms != null) {
            backend.l2Norm(attentionOutput.transpose(0, 1), norms.select(0, b));
        }
    }

    /** Image b's results as {@link LayerTaps} (views of this buffer's tensors). */
    LayerTaps forImage(int layer, int b, int[] tokenIndices) {
        return forImage(layer, b, tokenIndices, UnaryOperator.identity());
    }

    /** Image b's results as views of {@code relocate} applied to this buffer's tensors (e.g. their copies). */
    LayerTaps forImage(int layer, int b, int[] tokenIndices, UnaryOperator<Tensor> relocate) {
        return new LayerTaps(layer, tokenIndices, row(cls, b, relocate), row(mean, b, relocate), row(norms, b, relocate));
    }

    private static Tensor row(Tensor t, int b, UnaryOperator<Tensor> relocate) {
        return t == null ? null : relocate.apply(t).select(0, b);
    }
}
