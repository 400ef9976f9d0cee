package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import dev.glimpse.kernels.TopK;

/**
 * Batched top-k by radix selection on the GPU (topk.cu, one block per row), with the CPU
 * backend's results exactly: the same keys (NaN lowest, -0.0 equal to +0.0), the same tie rule
 * (equal values: lower index first) and the same orders. The k results come back as device
 * tensors (I32 indices, F32 values) that the caller closes.
 *
 * <p>Scores are cached in shared memory as keys when they fit; a BY_VALUE sort runs in shared
 * memory when the k winners (padded to a power of two) fit, else in device scratch.
 */
final class CudaTopK {

    private final CudaContext ctx;
    private final CudaCopy copier;

    CudaTopK(CudaContext ctx, CudaCopy copier) {
        this.ctx = ctx;
        this.copier = copier;
    }

    TopK topK(Tensor scores, int k, TopK.Order order) {
        if (order == null) {
            throw new TensorException("topK: order must be BY_VALUE or BY_INDEX, not null");
        }
        Checks.onDevice(scores, ctx.device, "topK", "scores");
        if (scores.dtype() != DType.F32 || scores.rank() != 2) {
            throw new TensorException("topK: scores must be F32 [rows, n], got " + scores);
        }
        int rows = scores.dim(0);
        int n = scores.dim(1);
        if (k < 0 || k > n) {
            throw new TensorException("topK: k = " + k + " is outside [0, " + n + "] for scores " + scores);
        }
        Tensor indices = ctx.scratch(DType.I32, rows, k);
        Tensor values = ctx.scratch(DType.F32, rows, k);
        if (rows == 0 || k == 0) {
            return new TopK(indices, values);
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor s = tmp.rowsPacked(scores, DType.F32);
            long rowStride = rows == 1 ? n : s.stride(0);
            boolean byValue = order == TopK.Order.BY_VALUE;
            int budget = ctx.kernels.maxDynamicSharedBytes();
            int sortSize = byValue ? Integer.highestOneBit(Math.max(1, k - 1)) << (k > 1 ? 1 : 0) : 0;
            boolean sortInShared = byValue && (long) sortSize * Long.BYTES <= budget;
            long shared = sortInShared ? (long) sortSize * Long.BYTES : 0;
            boolean keysInShared = shared + (long) n * Integer.BYTES <= budget;
            if (keysInShared) {
                shared += (long) n * Integer.BYTES;
            }
            long scratch = 0L;
            if (byValue && !sortInShared) {
                scratch = CudaContext.address(tmp.scratch(DType.I64, rows, sortSize));
            }
            ctx.launch.of(ctx.kernels.largeSharedFunction("topk", "topk_rows"), "topk_rows")
                    .ptr(CudaContext.address(s)).i64(rowStride).i32(n).i32(k).i32(byValue ? 1 : 0)
                    .ptr(CudaContext.address(indices)).ptr(CudaContext.address(values))
                    .ptr(scratch).i32(sortSize).i32(sortInShared ? 1 : 0).i32(keysInShared ? 1 : 0)
                    .run(rows, 1, threads(n), (int) shared);
        } catch (RuntimeException e) {
            indices.close();
            values.close();
            throw e;
        }
        return new TopK(indices, values);
    }

    /** At least 256 (the histogram scan needs them), more for long rows. */
    private static int threads(int n) {
        if (n > 8192) {
            return 1024;
        }
        return n > 2048 ? 512 : 256;
    }
}
