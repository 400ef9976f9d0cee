package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;

/**
 * The softmax attention row of one query over every key, per head, composed from two device
 * operations: {@code scores = scale * q k^T} by the backend's batched F32 GEMM, then a row softmax,
 * in place in the output. For q [1, heads, D] (one token's row of the F32 queries) and keys
 * [N, heads, D] it writes [heads, 1, N]: the [CLS] row of VTC-CLS, or SigLIP's probe row.
 *
 * <p>It replaces an {@link dev.glimpse.kernels.AttentionCapture} of rows when the tower replays
 * its passes from CUDA graphs ({@link TowerGraphs}): a capture names its query rows in a host
 * array, which the CUDA backend uploads inside the attention call (a pageable copy a graph cannot
 * replay), while these two operations read device memory only. The arithmetic is the capture
 * kernel's ({@code attention_capture_rows}: F32 dot products times the scale, max-subtracted
 * {@code expf}, divided by their sum) with the dot products summed in cuBLAS's order, so rows agree
 * with it to F32 rounding. Nothing is packed: both operands are strided views the GEMM reads as they are.
 *
 * <p>Under {@code -Dglimpse.cuda.vtcFused=true} ({@link CudaBackend#vtcFusedEnabled}, read at every call; the
 * tower's graphs are keyed by it) a CUDA backend computes the row in one launch
 * ({@link CudaBackend#queryAttentionRow}): the same formula with the dot products summed in the kernel's
 * order, so the rows agree with the two operations' to F32 rounding.
 */
final class QueryAttentionRow {

    private QueryAttentionRow() {
    }

    /**
     * @param query [1, heads, D] F32 (a view of the query rows)
     * @param keys  [N, heads, D] F32
     * @param out   [heads, 1, N] F32, packed
     */
    static void compute(Backend backend, Tensor query, Tensor keys, float scale, Tensor out) {
        if (backend instanceof CudaBackend cuda && CudaBackend.vtcFusedEnabled()) {
            cuda.queryAttentionRow(query, keys, scale, out);
            return;
        }
        backend.batchedMatmul(query.transpose(0, 1), keys.transpose(0, 1), true, scale, out);
        backend.softmax(out, out);
    }
}
