package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

/**
 * One query's softmax attention row over every key, per head, as one launch
 * ({@code query_attention_row_f32} in query_row.cu): what {@link CudaBackend#batchedMatmul} of
 * {@code scale * q k^T} followed by {@link CudaBackend#softmax} computes (the vision tower's
 * {@code QueryAttentionRow}: VTC-CLS's [CLS] rows, SigLIP's probe row) without the [heads, 1, N]
 * logits written and read back between two launches. Each dot product is one fmaf chain in dim order,
 * so rows agree with the two-launch path to F32 rounding. Shapes the kernel does not take (strided
 * head dims, a query and keys past its 48 KiB of shared memory) run the two launches.
 */
final class CudaQueryRow {

    /** The most threads a block takes: one key each per round. */
    private static final int MAX_THREADS = 1024;
    /** Dynamic shared memory every kernel may use without opting in, less the block's 32-float scratch. */
    private static final int SHARED_BYTES = 48 * 1024 - 128;

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
        long shared = sharedBytes(n, d);
        if (d == 0 || !unitStrides(query, keys, out, n, d) || shared > SHARED_BYTES) {
            gemm.batchedMatmul(query.transpose(0, 1), keys.transpose(0, 1), true, scale, out);
            pointwise.softmax(out, out);
            return;
        }
        ctx.launch.of(ctx.kernels.function("query_row", "query_attention_row_f32"), "query_attention_row_f32")
                .ptr(CudaContext.address(query)).i64(query.stride(1))
                .ptr(CudaContext.address(keys)).i64(keys.stride(0)).i64(keys.stride(1)).i32(n).i32(d).f32(scale)
                .ptr(CudaContext.address(out)).i64(out.stride(0)).i32(vectorKeys(keys, d) ? 1 : 0)
                .run(heads, 1, threads(n), (int) shared);
    }

    /** The kernel's shared memory: the query padded to four floats, then the n logits. */
    static long sharedBytes(int n, int d) {
        return ((long) ((d + 3) & ~3) + n) * Float.BYTES;
    }

    /** One thread per key up to {@value #MAX_THREADS}, whole warps, at least four of them for the softmax. */
    static int threads(int n) {
        return Math.clamp((n + 31L) / 32 * 32, 128, MAX_THREADS);
    }

    /** Whether every key's D floats can be read as 16-byte vectors: D, both key strides and the address in fours. */
    static boolean vectorKeys(Tensor keys, int d) {
        return d % 4 == 0 && keys.stride(0) % 4 == 0 && keys.stride(1) % 4 == 0 && CudaContext.address(keys) % 16 == 0;
    }

    /** Head dims and the output row packed, the other strides non-negative (the kernel's indexing). */
    private static boolean unitStrides(Tensor query, Tensor keys, Tensor out, int n, int d) {
        boolean unitDims = (d == 1 || (query.stride(2) == 1 && keys.stride(2) == 1)) && (n == 1 || out.stride(2) == 1);
        return unitDims && query.stride(1) >= 0 && keys.stride(0) >= 0 && keys.stride(1) >= 0 && out.stride(0) >= 0;
    }
}
