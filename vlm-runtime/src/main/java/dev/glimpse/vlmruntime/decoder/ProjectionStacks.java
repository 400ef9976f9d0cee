package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;

/**
 * A layer's projections that share their input, stacked for one launch each
 * ({@link dev.glimpse.kernels.Backend#linearStack}): views [B, out, in] of the weights uploaded as
 * one concatenation ({@link dev.glimpse.kernels.ResidentWeights#placeConcatenated}), whose parts
 * are also the layer's separate q, k, v, gate and up tensors. A stack holds equal-width blocks
 * only, so q/k/v stack as three when q is as wide as k and v (multi-head attention, Llama-7B);
 * with grouped-query attention (Qwen2) k and v stack as two and q runs alone. Any component is
 * null where that stack does not exist; a bias stack is null when the projections have no biases.
 *
 * @param qkv        [3, H D, hidden] q, k, v, or null
 * @param qkvBias    [3, H D]
 * @param kv         [2, Hkv D, hidden] k, v (used when {@code qkv} is null), or null
 * @param kvBias     [2, Hkv D]
 * @param gateUp     [2, intermediate, hidden] gate, up, or null
 * @param gateUpBias [2, intermediate]
 */
public record ProjectionStacks(Tensor qkv, Tensor qkvBias, Tensor kv, Tensor kvBias, Tensor gateUp, Tensor gateUpBias) {

    /**
     * Stacks over the concatenations [q; k; v] ({@code qkvWhole}, [qWidth + 2 kvWidth, ..], its
     * bias likewise) and [gate; up] ({@code gateUpWhole}, [2 intermediate, ..]); a null whole
     * gives null stacks, and a stack needs its bias whole wherever {@code biased} says the
     * projections have biases.
     */
    static ProjectionStacks of(Tensor qkvWhole, Tensor qkvBiasWhole, boolean qkvBiased, int qWidth, int kvWidth,
                               Tensor gateUpWhole, Tensor gateUpBiasWhole, boolean mlpBiased) {
        Tensor qkv = null;
        Tensor qkvBias = null;
        Tensor kv = null;
        Tensor kvBias = null;
        if (qkvWhole != null && (!qkvBiased || qkvBiasWhole != null)) {
            if (qWidth == kvWidth) {
                qkv = stack(qkvWhole, 0, 3, qWidth);
                qkvBias = qkvBiased ? stack(qkvBiasWhole, 0, 3, qWidth) : null;
            } else {
                kv = stack(qkvWhole, qWidth, 2, kvWidth);
                kvBias = qkvBiased ? stack(qkvBiasWhole, qWidth, 2, kvWidth) : null;
            }
        }
        Tensor gateUp = null;
        Tensor gateUpBias = null;
        if (gateUpWhole != null && (!mlpBiased || gateUpBiasWhole != null)) {
            int inter = gateUpWhole.dim(0) / 2;
            gateUp = stack(gateUpWhole, 0, 2, inter);
            gateUpBias = mlpBiased ? stack(gateUpBiasWhole, 0, 2, inter) : null;
        }
        return new ProjectionStacks(qkv, qkvBias, kv, kvBias, gateUp, gateUpBias);
    }

    /** Rows {@code [from, from + count width)} of a contiguous whole as [count, width, ..]. */
    private static Tensor stack(Tensor whole, int from, int count, int width) {
        int[] shape = whole.shape();
        int[] stacked = new int[shape.length + 1];
        stacked[0] = count;
        stacked[1] = width;
        System.arraycopy(shape, 1, stacked, 2, shape.length - 1);
        return whole.slice(0, from, from + count * width).reshape(stacked);
    }
}
