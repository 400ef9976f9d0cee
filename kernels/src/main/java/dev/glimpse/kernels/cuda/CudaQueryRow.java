package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

/**
 * One query's softmax attention row over every key, per head, as one launch
 * ({@code query_attention_row_f32} in query_row.cu): what {@link CudaBackend#batchedMatmul} of
 * {@code scale * q k^T} followed by {@link CudaBackend#softmax} computes (the vision tower's
 * {@code QueryAttentionRow}: VTC-CLS's [CLS] rows, SigLIP's probe row) without the [heads, 1, N]
 * logits written and read back between two launches. The dot products are summed in the kernel's
 * own order, so rows agree with the two-launch path to F32 rounding. Shapes the kernel does not take
 * (a head dim above {@value #MAX_HEAD_DIM}, rows that do not fit its shared memory, strided head dims)
 * run the two launches.
 */
final class CudaQueryRow {

    /** 32 x QROW_CHUNKS in query_row.cu. */
    static final int MAX_HEAD_DIM = 128;
    private static final int THREADS = 512;

    private final CudaContext ctx;
    private final CudaGemm gemm;
    private final CudaPointwise pointwise;

    CudaQueryRow(CudaContext ctx, CudaGemm gemm, CudaPointwise pointwise) {
        this.ctx = ctx;
        this.gemm = gemm;
        this.pointwise = pointwise;
    }

    /**
     * @param query [1, heads, D] F32 (a view of one query row)
     * @param keys  [N, heads, D] F32
     * @param out   [heads, 1, N] F32
     */
    void compute(Tensor query, Tensor keys, float scale, Tensor out) {
        Checks.f32(query, ctx.device, "queryAttentionRow", "query");
        Checks.f32(keys, ctx.device, "queryAttentionRow", "keys");
        Checks.f32(out, ctx.device, "queryAttentionRow", "out");
        if (query.rank() != 3 || query.dim(0) != 1 || keys.rank() != 3 || keys.dim(1) != query.dim(1)
                || keys.dim(2) != query.dim(2)) {
            throw new TensorException("queryAttentionRow needs query [1, heads, D] and keys [N, heads, D]; got " + query
                    + " and " + keys);
        }
        int heads = query.dim(1);
        int d = query.dim(2);
        int n = keys.dim(0);
        Checks.out(out, new int[] {heads, 1, n}, ctx.device, "queryAttentionRow");
        if (heads == 0 || n == 0) {
            return;
        }
        if (!fits(query, keys, out, n, d)) {
            gemm.batchedMatmul(query.transpose(0, 1), keys.transpose(0, 1), true, scale, out);
            pointwise.softmax(out, out);
            return;
        }
        ctx.launch.of(ctx.kernels.function("query_row", "query_attention_row_f32"), "query_attention_row_f32")
                .ptr(CudaContext.address(query)).i64(query.stride(1))
                .ptr(CudaContext.address(keys)).i64(keys.stride(0)).i64(keys.stride(1)).i32(n).i32(d).f32(scale)
                .ptr(CudaContext.address(out)).i64(out.stride(0))
                .run(heads, 1, THREADS, n * Float.BYTES);
    }

    /**
     * Whether the kernel takes these operands: head dims 1 .. {@value #MAX_HEAD_DIM} packed, keys and
     * heads at non-negative strides, an output row packed along the keys, the n logits within the 48 KiB
     * of dynamic shared memory every kernel may use (the block's 32-float scratch aside).
     */
    private static boolean fits(Tensor query, Tensor keys, Tensor out, int n, int d) {
        boolean unitDims = (d == 1 || (query.stride(2) == 1 && keys.stride(2) == 1)) && (n == 1 || out.stride(2) == 1);
        boolean positive = query.stride(1) >= 0 && keys.stride(0) >= 0 && keys.stride(1) >= 0 && out.stride(0) >= 0;
        return d >= 1 && d <= MAX_HEAD_DIM && unitDims && positive && (long) n * Float.BYTES <= 48 * 1024 - 128;
    }
}
