package dev.glimpse.visionencoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The tensors one tapped layer records into, [batch, heads, N] each (null for kinds not asked
 * for), and how they are filled: the [CLS] row and the column sums come from the attention kernel
 * itself ({@link AttentionCapture}: no N x N map is materialised), the mean divides the sums by
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

    TapBuffers(Backend backend, VisionTaps taps, int layer, int batch, int heads, int tokens) {
        this.backend = backend;
        this.tokens = tokens;
        this.heads = heads;
        this.cls = taps.wants(layer, VisionTaps.Tap.CLS_ATTENTION) ? backend.allocate(DType.F32, batch, heads, tokens) : null;
        this.mean = taps.wants(layer, VisionTaps.Tap.MEAN_ATTENTION_RECEIVED)
                ? backend.allocate(DType.F32, batch, heads, tokens) : null;
        this.norms = taps.wants(layer, VisionTaps.Tap.HEAD_OUTPUT_NORMS)
                ? backend.allocate(DType.F32, batch, heads, tokens) : null;
    }

    /** What the attention kernel should record for image b, or null. */
    AttentionCapture capture(int b) {
        if (cls == null && mean == null) {
            return null;
        }
        return new AttentionCapture(cls == null ? null : new int[] {0},
                cls == null ? null : cls.select(0, b).reshape(heads, 1, tokens),
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

    /** Finishes image b's statistics from its attention output [N, heads, head_dim]. */
    void afterAttention(int b, Tensor attentionOutput) {
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
        return new LayerTaps(layer, tokenIndices, cls == null ? null : cls.select(0, b),
                mean == null ? null : mean.select(0, b), norms == null ? null : norms.select(0, b));
    }

    /** The tensors this buffer owns, to be handed to the output. */
    List<Tensor> owned() {
        return Stream.of(cls, mean, norms).filter(Objects::nonNull).toList();
    }
}
