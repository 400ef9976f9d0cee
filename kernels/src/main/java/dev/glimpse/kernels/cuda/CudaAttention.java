package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.global.cudart;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Grouped-query attention on the GPU: {@code attention_forward} (attention.cu) is a flash-style
 * kernel (key tiles in shared memory, online softmax, F32 on the SIMT cores) for decode-sized query
 * counts. Prefill with head dims up to 128 runs on tensor cores: at {@link AttentionPrecision#F32},
 * or whenever column sums are captured, {@code attention_forward_tc<dim>} (attention.cu), the same pass
 * with Q K^T and P V as 3xTF32 products (F32-level accuracy); at {@link AttentionPrecision#BF16} or
 * {@link AttentionPrecision#F16} without column sums {@code attention_mma_packed_<bf16|f16>_d<dim>_<shape>}
 * (attention_mma.cu, block shape by {@link AttentionMmaWarps}), a FlashAttention-2 style kernel whose
 * operands are rounded to the 16-bit type and multiplied by {@code mma.sync} m16n8k16 into F32, with
 * the softmax held in registers (HF's bf16/f16 sdpa numerics), after
 * {@code attention_mma_pack_<bf16|f16>_d<dim>} rounded K and V once into packed 16-bit scratch, or
 * reading K and V in place ({@code attention_mma_cache_<bf16|f16>_d<64|128>_<shape>}) when they are
 * already views of a 16-bit KV cache of that type ({@link #cacheRowsInPlace}: the same rounded values,
 * so the same bits). It
 * folds the scale into the row max, so a scale that is not positive (the models' is 1 / sqrt(D))
 * takes the 3xTF32 kernel at any precision. The kernels write each row's
 * log-sum-exp only when column sums are captured. Captured softmax rows are recomputed exactly for the chosen queries
 * ({@code attention_capture_rows}); column sums re-score every (query, key) pair against the saved
 * log-sum-exps ({@code attention_column_sums}), so capture costs one extra Q K^T pass and nothing
 * when off. Decode steps over a KV cache whose key count lives in device memory run flash-decoding
 * ({@link CudaDecodeAttention}); this class appends their keys and values ({@link #appendStep}).
 */
final class CudaAttention {

    /**
     * {@code -Dglimpse.cuda.attentionCacheInPlace=false} packs 16-bit K and V of a KV cache into
     * scratch as F32 ones are (the A/B of {@link #cacheRowsInPlace}); true (default) reads them in place.
     */
    static final String IN_PLACE_PROPERTY = "glimpse.cuda.attentionCacheInPlace";

    /** Largest head dim the kernels hold in registers. */
    static final int MAX_HEAD_DIM = 256;

    private static final int TILE = 32;
    private static final int WARPS = 8;
    private static final int QUERIES_PER_BLOCK = 16;
    /** Queries and keys per block and tile of the tensor-core prefill kernel, its warps and limits. */
    private static final int TC_QUERIES = 64;
    private static final int TC_KEYS = 64;
    private static final int TC_WARPS = 4;
    private static final int TC_MIN_QUERIES = 16;
    private static final int TC_MAX_DIM = 128;
    /**
     * The 16-bit mma kernel's K and V tiles are [64][DP + 8] 16-bit values (the 8-element pad makes
     * the row pitch an odd multiple of 16 bytes, so their ldmatrix reads are free of bank
     * conflicts); it holds a K and a V tile per buffer (two: double-buffered; one: the single-round
     * key-split shapes), times the key split of a key-split block (each round of it copies one K and
     * one V tile per key-split warp).
     */
    private static final int MMA_ROW_PAD = 8;
    private static final int MMA_TILES_PER_BUFFER = 2;
    /**
     * The two-tile ({@code w4x2}) kernel holds its queries in registers up to this padded head dim;
     * past it the rounded query tile [128][DP + 8] keeps shared memory of its own after the K and V
     * tiles (the {@code Q_REGS} argument of its instantiations in attention_mma.cu).
     */
    private static final int MMA_QUERY_REGISTERS_MAX_DIM = 64;
    /** CUDA's limit on a grid's y extent (the pack kernel's heads). */
    private static final int MAX_GRID_Y = 65535;
    /** Name suffix of the cache kernels that store 16-bit output rows ({@link #cacheHalfOutput}). */
    private static final String HALF_OUTPUT_SUFFIX = "_o16";
    private static final int MMA_ELEMENT_BYTES = 2;
    /** Module and name prefix of the fused short-prefill kernels ({@link #ropeAppendAttention}). */
    static final String ROPE_ATTENTION_MODULE = "prefill_rope_attention";
    private static final String ROPE_ATTENTION_KERNEL = "prefill_rope_attention_";

    private final CudaContext ctx;
    /** Fused short-prefill launches queued so far (eager or into a capture), {@link #ropeAppendAttentionLaunches}. */
    private final AtomicLong ropeAttentionLaunches = new AtomicLong();
    /** Resident images-as-heads launches queued so far (eager or into a capture), {@link #residentImagesLaunches}. */
    private final AtomicLong residentImagesLaunches = new AtomicLong();
    private final CudaCopy copier;

    CudaAttention(CudaContext ctx, CudaCopy copier) {
        this.ctx = ctx;
        this.copier = copier;
    }

    void compute(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out, AttentionCapture capture,
                 AttentionPrecision precision) {
        checkOperands("attention", q, k, v, "Hq", "Hkv");
        int t = q.dim(0);
        int hq = q.dim(1);
        int d = q.dim(2);
        int s = k.dim(0);
        int hkv = k.dim(1);
        if (d > MAX_HEAD_DIM) {
            throw new TensorException("attention: head dim " + d + " exceeds the CUDA kernel's limit of " + MAX_HEAD_DIM);
        }
        OpChecks.attentionMask(mask, t, s);
        Checks.out(out, q.shape(), ctx.device, "attention");
        int[] rows = validateCapture(capture, t, hq, s);
        int queryStart = mask instanceof AttentionMask.Causal c ? c.queryStart() : -1;
        if (t == 0 || hq == 0 || d == 0) {
            zeroCaptures(capture);
            return;
        }
        if (s == 0) {
            memsetZero(out);
            zeroCaptures(capture);
            return;
        }
        Tensor columnSums = capture == null ? null : capture.columnSums();
        try (Temporaries tmp = new Temporaries(copier)) {
            Operand qo = Operand.of(tmp.rowsPacked(q, DType.F32));
            Tensor lse = columnSums == null ? null : tmp.scratch(DType.F32, hq, t);
            int paddedDim = tensorCoreDim(t, d);
            TensorCoreKernel tc = paddedDim > 0 ? tensorCoreKernel(paddedDim, precision, columnSums != null, scale,
                    block(t, hq, paddedDim, queryStart >= 0)) : null;
            long lseAddress = lse == null ? 0L : CudaContext.address(lse);
            DType half = precision == AttentionPrecision.BF16 ? DType.BF16 : DType.F16;
            int cacheRows = tc != null && tc.packKernel() != null ? cacheRowsInPlace(k, v, half, paddedDim) : 0;
            // F32 copies of K and V (no copy when they already are F32 rows) for every kernel but the in-place one.
            Operand ko = cacheRows > 0 && rows == null ? null : Operand.of(tmp.rowsPacked(k, DType.F32));
            Operand vo = cacheRows > 0 ? null : Operand.of(tmp.rowsPacked(v, DType.F32));
            if (cacheRows > 0) {
                String kernel = tc.name().replace("attention_mma_packed_", "attention_mma_cache_");
                ctx.launch.of(ctx.kernels.largeSharedFunction(tc.module(), kernel), kernel)
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                        .i32(cacheRows).ptr(CudaContext.address(out)).ptr(lseAddress)
                        .i32(t).i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                        .run((t + tc.queriesPerBlock() - 1) / tc.queriesPerBlock(), hq, tc.threads(), tc.sharedBytes());
            } else if (tc != null && tc.packKernel() != null) {
                Tensor[] packed = packKeysValues(tmp, tc.packKernel(), half, ko, vo, s, hkv, d, paddedDim);
                Tensor kh = packed[0];
                Tensor vh = packed[1];
                ctx.launch.of(ctx.kernels.largeSharedFunction(tc.module(), tc.name()), tc.name())
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(CudaContext.address(kh)).ptr(CudaContext.address(vh))
                        .ptr(CudaContext.address(out)).ptr(lseAddress)
                        .i32(t).i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                        .run((t + tc.queriesPerBlock() - 1) / tc.queriesPerBlock(), hq, tc.threads(), tc.sharedBytes());
            } else {
                String module = tc != null ? tc.module() : "attention";
                String kernel = tc != null ? tc.name() : "attention_forward";
                int queriesPerBlock = tc != null ? tc.queriesPerBlock() : QUERIES_PER_BLOCK;
                int threads = tc != null ? tc.threads() : WARPS * 32;
                int shared = tc != null ? tc.sharedBytes() : (TILE * (d + 1) + TILE * d + QUERIES_PER_BLOCK * d) * Float.BYTES;
                ctx.launch.of(ctx.kernels.largeSharedFunction(module, kernel), kernel)
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(ko.address).i64(ko.s0).i64(ko.s1)
                        .ptr(vo.address).i64(vo.s0).i64(vo.s1).ptr(CudaContext.address(out)).ptr(lseAddress)
                        .i32(t).i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                        .run((t + queriesPerBlock - 1) / queriesPerBlock, hq, threads, shared);
            }
            if (rows != null && rows.length > 0) {
                Tensor rowIndex = tmp.ints(rows);
                ctx.launch.of(ctx.kernels.function("attention", "attention_capture_rows"), "attention_capture_rows")
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(ko.address).i64(ko.s0).i64(ko.s1)
                        .ptr(CudaContext.address(rowIndex)).i32(rows.length).ptr(CudaContext.address(capture.rowProbs()))
                        .i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                        .run(rows.length, hq, 256, d * Float.BYTES);
            }
            if (columnSums != null) {
                int colShared = (TILE * (d + 1) + WARPS * d) * Float.BYTES;
                ctx.launch.of(ctx.kernels.largeSharedFunction("attention", "attention_column_sums"), "attention_column_sums")
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(ko.address).i64(ko.s0).i64(ko.s1)
                        .ptr(CudaContext.address(lse)).ptr(CudaContext.address(columnSums))
                        .i32(t).i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                        .run((s + TILE - 1) / TILE, hq, WARPS * 32, colShared);
            }
        }
    }

    /** q F32 [T, qHeads, D], k and v floating [S, kvHeads, D] on this device, heads grouping evenly. */
    private void checkOperands(String op, Tensor q, Tensor k, Tensor v, String qHeads, String kvHeads) {
        Checks.f32(q, ctx.device, op, "q");
        Checks.rank(q, 3, op, "q", "[T, " + qHeads + ", D]");
        Checks.floating(k, ctx.device, op, "k");
        Checks.rank(k, 3, op, "k", "[S, " + kvHeads + ", D]");
        Checks.floating(v, ctx.device, op, "v");
        OpChecks.attentionHeads(q, k, v);
    }

    /**
     * Attention as {@link #compute} with the output rounded to 16 bits by the kernel itself
     * ({@code attention_mma_cache_<t>_d<D>_<shape>_o16}): {@code out} [T, Hq, D] packed, of the pass's
     * 16-bit type, gets the bits {@link #compute}'s F32 rows get from {@code convert_f32} (the GEMM
     * input rounding of o_proj), with neither the F32 rows nor that pass. Runs only where
     * {@link #compute} would run the in-place cache kernel ({@link #cacheRowsInPlace}: 16-bit precision,
     * positive scale, 16+ queries, K and V views of a head-major cache of that type, D 64 or 128) for a
     * block shape that has the kernel (all but {@code w4x2} at D 128), without captures; returns
     * false, having queued nothing, everywhere else (the caller then runs {@link #compute}).
     */
    boolean cacheHalfOutput(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                            AttentionPrecision precision) {
        checkOperands("attention", q, k, v, "Hq", "Hkv");
        int t = q.dim(0);
        int hq = q.dim(1);
        int d = q.dim(2);
        int s = k.dim(0);
        int hkv = k.dim(1);
        OpChecks.attentionMask(mask, t, s);
        DType half = precision == AttentionPrecision.BF16 ? DType.BF16 : DType.F16;
        int paddedDim = tensorCoreDim(t, d);
        if (precision == AttentionPrecision.F32 || out.dtype() != half || !out.device().equals(ctx.device)
                || !Arrays.equals(out.shape(), q.shape()) || !Checks.contiguous(out) || paddedDim == 0 || s == 0
                || hq == 0) {
            return false;
        }
        AttentionMmaWarps.Block block = block(t, hq, paddedDim, mask instanceof AttentionMask.Causal);
        TensorCoreKernel tc = tensorCoreKernel(paddedDim, precision, false, scale, block);
        int cacheRows = tc.packKernel() != null ? cacheRowsInPlace(k, v, half, paddedDim) : 0;
        boolean hasKernel = !(block.queryTiles() == 2 && paddedDim > MMA_QUERY_REGISTERS_MAX_DIM);
        if (cacheRows == 0 || !hasKernel) {
            return false;
        }
        int queryStart = mask instanceof AttentionMask.Causal c ? c.queryStart() : -1;
        String kernel = tc.name().replace("attention_mma_packed_", "attention_mma_cache_") + HALF_OUTPUT_SUFFIX;
        try (Temporaries tmp = new Temporaries(copier)) {
            Operand qo = Operand.of(tmp.rowsPacked(q, DType.F32));
            ctx.launch.of(ctx.kernels.largeSharedFunction(tc.module(), kernel), kernel)
                    .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                    .i32(cacheRows).ptr(CudaContext.address(out))
                    .i32(t).i32(s).i32(hq).i32(hkv).i32(d).f32(scale).i32(queryStart)
                    .run((t + tc.queriesPerBlock() - 1) / tc.queriesPerBlock(), hq, tc.threads(), tc.sharedBytes());
        }
        return true;
    }

    /**
     * A short prefill block's RoPE, KV cache append and attention with 16-bit output in one launch
     * ({@code prefill_rope_attention_<t>_d<D>_<shape>}, prefill_rope_attention.cu): the cache entries
     * {@code start .. start + T} and {@code out} get the bits {@link CudaPointwise#ropeAppendKvRows} followed by
     * {@link #cacheHalfOutput} over the caches' first {@code start + T} entries give them (causal from
     * {@code start}), with the block shape {@link #cacheHalfOutput} would take (its small-grid choice
     * {@link AttentionSmallGrid#configuredForRopeAttention()}: {@code -Dglimpse.cuda.ropeAttentionSmallGrid} where
     * set, so the fused kernel can take another shape than the pair); q itself is not rotated. Runs
     * only where that pair runs the vectorised append ({@code -Dglimpse.cuda.ropeAppendVector} not false) and the
     * in-place 16-bit output kernel: 16-bit precision and caches of that type, a positive scale, {@value #TC_MIN_QUERIES} to
     * {@link CudaBackend#prefillRopeAttentionMaxRows()} queries, D 64 or 128 all rotary, packed 16-byte aligned
     * operands, a block shape other than {@code w4x2} and {@code w2s2b1} ({@link #hasRopeAttentionKernel}); returns
     * false, having queued nothing, elsewhere (the
     * caller then runs the pair). q [T, Hq, D], k, v [T, Hkv, D] F32; cos, sin [T, D / 2]; caches
     * [Hkv, capacity, D]; out [T, Hq, D].
     */
    boolean ropeAppendAttention(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache,
                                Tensor valueCache, int start, float scale, Tensor out, AttentionPrecision precision) {
        Checks.RopeAppendShape shape = Checks.ropeAppend(q, k, v, cos, sin, keyCache, valueCache, start, ctx.device,
                "ropeAppendAttention");
        int t = shape.t();
        int hq = shape.hq();
        int hkv = shape.hkv();
        int capacity = shape.capacity();
        int d = shape.d();
        int half = shape.half();
        DType type = precision == AttentionPrecision.BF16 ? DType.BF16 : DType.F16;
        if (precision == AttentionPrecision.F32 || keyCache.dtype() != type || out.dtype() != type
                || !out.device().equals(ctx.device) || !Arrays.equals(out.shape(), q.shape())
                || !(scale > 0) || hq == 0 || hkv == 0 || hq % hkv != 0 || hq > MAX_GRID_Y
                || tensorCoreDim(t, d) != d || (d != 64 && d != 128) || 2 * half != d
                || t > CudaBackend.prefillRopeAttentionMaxRows() || !inPlaceEnabled()
                || !CudaBackend.ropeAppendVectorEnabled()) {
            return false;
        }
        for (Tensor x : new Tensor[] {q, k, v, cos, sin, out}) {
            if (!Checks.contiguous(x) || CudaContext.address(x) % 16 != 0) {
                return false;
            }
        }
        if (((CudaContext.address(keyCache) | CudaContext.address(valueCache)) % 16) != 0) {
            return false;
        }
        AttentionMmaWarps.Block chosen = AttentionMmaWarps.configured().block(t, hq, d, ctx.multiprocessors);
        AttentionMmaWarps.Block block = AttentionSmallGrid.configuredForRopeAttention().block(chosen, t, hq, d, true,
                ctx.multiprocessors);
        if (!hasRopeAttentionKernel(block)) {
            return false;
        }
        TensorCoreKernel tc = tensorCoreKernel(d, precision, false, scale, block);
        String kernel = ropeAttentionKernel(type, d, block);
        ctx.launch.of(ctx.kernels.largeSharedFunction(ROPE_ATTENTION_MODULE, kernel), kernel)
                .ptr(CudaContext.address(q)).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                .ptr(CudaContext.address(cos)).ptr(CudaContext.address(sin)).ptr(CudaContext.address(keyCache))
                .ptr(CudaContext.address(valueCache)).i32(capacity).ptr(CudaContext.address(out))
                .i32(t).i32(hq).i32(hkv).f32(scale).i32(start)
                .run((t + tc.queriesPerBlock() - 1) / tc.queriesPerBlock(), hq, tc.threads(), tc.sharedBytes());
        ropeAttentionLaunches.incrementAndGet();
        return true;
    }

    /**
     * Whether prefill_rope_attention.cu has the fused kernel of {@code block}: every 16-query-tile shape but
     * {@code w2s2b1} ({@link AttentionSmallGrid#AUTO} takes it at padded head dim 80 only, which the kernel lacks).
     */
    static boolean hasRopeAttentionKernel(AttentionMmaWarps.Block block) {
        return block.queryTiles() == 1 && !(block.buffers() == 1 && block.keySplit() == 2);
    }

    /**
     * Whether attention_mma.cu has the images-as-heads kernel of {@code block} at {@code paddedDim}: every
     * double-buffered shape, and the single-round ones only as {@link AttentionSmallGrid#AUTO} takes them for a
     * bidirectional pass, {@code w2s2b1} at padded head dim {@value AttentionSmallGrid#SINGLE_ROUND_DIM}.
     */
    static boolean hasImagesKernel(AttentionMmaWarps.Block block, int paddedDim) {
        return block.buffers() == 2 || (block.keySplit() == 2 && paddedDim == AttentionSmallGrid.SINGLE_ROUND_DIM);
    }

    /** How many times {@link #imagesAsHeads} queued the resident kernel (a graph replay does not count). */
    long residentImagesLaunches() {
        return residentImagesLaunches.get();
    }

    /** How many times {@link #ropeAppendAttention} queued its kernel (a graph replay does not count). */
    long ropeAppendAttentionLaunches() {
        return ropeAttentionLaunches.get();
    }

    /**
     * The {@link #ropeAppendAttention} kernel (module {@value #ROPE_ATTENTION_MODULE}) of 16-bit type {@code type},
     * head dim {@code d} (64 or 128) and block shape {@code block} (16-query tiles: w2, w4, w8, w2s2).
     */
    static String ropeAttentionKernel(DType type, int d, AttentionMmaWarps.Block block) {
        return ROPE_ATTENTION_KERNEL + (type == DType.BF16 ? "bf16" : "f16") + "_d" + d + "_" + block.suffix();
    }

    /**
     * {@link dev.glimpse.kernels.Backend#attentionImagesAsHeads} on the 16-bit mma kernels: K and V
     * packed as {@link #compute} packs them, then {@code attention_mma_images_<t>_d<dim>_<shape>}
     * (the block shape {@link #compute} would take) storing each output row rounded to 16 bits into
     * its image-major row of out, the bits of {@link #compute}'s F32 rows copied there; under
     * {@code -Dglimpse.cuda.towerAttentionResident=s2|auto} ({@link TowerAttentionResident}, read now; auto only for
     * grids of at most one wave) at the padded head dims it takes (64; 80 up to 72 dims) with keys that fit the shared
     * memory, {@code attention_mma_images_resident_<t>_d<64|80>_q<5|6>s2} instead (each head's K and V resident; the
     * bits of {@code w2s2}). False, having
     * queued nothing, where that kernel does not apply (F32 precision, out not of the precision's
     * 16-bit type or not packed [images, T, heads * D], a scale that is not positive, fewer queries
     * than the tensor-core kernels take, head dims past 128, grouped heads, no keys, a forced single-round block
     * shape without an images kernel, {@link #hasImagesKernel}): the caller then
     * composes attention and a copy.
     */
    boolean imagesAsHeads(Tensor q, Tensor k, Tensor v, float scale, Tensor out, AttentionPrecision precision) {
        checkOperands("attentionImagesAsHeads", q, k, v, "images * heads", "images * heads");
        int t = q.dim(0);
        int hq = q.dim(1);
        int d = q.dim(2);
        int s = k.dim(0);
        int images = out.rank() == 3 ? out.dim(0) : 0;
        DType half = precision == AttentionPrecision.BF16 ? DType.BF16 : DType.F16;
        int paddedDim = tensorCoreDim(t, d);
        if (precision == AttentionPrecision.F32 || out.dtype() != half || !(scale > 0) || paddedDim == 0 || s == 0
                || k.dim(1) != hq || images == 0 || hq % images != 0 || !Checks.contiguous(out)
                || out.dim(1) != t || (long) out.dim(2) != (long) (hq / images) * d) {
            return false;
        }
        AttentionMmaWarps.Block block = block(t, hq, paddedDim, false);
        TensorCoreKernel tc = tensorCoreKernel(paddedDim, precision, false, scale, block);
        String kernel = tc.name().replace("attention_mma_packed_", "attention_mma_images_");
        TowerAttentionResident resident = TowerAttentionResident.configured();
        boolean residentApplies = resident.runs(paddedDim, d, t, hq, ctx.multiprocessors) && !resident.yieldsToForcedShape()
                && TowerAttentionResident.sharedBytes(s, paddedDim) <= ctx.kernels.maxDynamicSharedBytes();
        if (!residentApplies && !hasImagesKernel(block, paddedDim)) {
            return false;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Operand qo = Operand.of(tmp.rowsPacked(q, DType.F32));
            Tensor[] packed = packKeysValues(tmp, tc.packKernel(), half, Operand.of(tmp.rowsPacked(k, DType.F32)),
                    Operand.of(tmp.rowsPacked(v, DType.F32)), s, hq, d, paddedDim);
            Tensor kh = packed[0];
            Tensor vh = packed[1];
            if (residentApplies) {
                String name = TowerAttentionResident.kernel(half == DType.BF16 ? "bf16" : "f16", paddedDim);
                int rowsPerBlock = TowerAttentionResident.queriesPerBlock(paddedDim);
                ctx.launch.of(ctx.kernels.largeSharedFunction(tc.module(), name), name)
                        .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(CudaContext.address(kh)).ptr(CudaContext.address(vh))
                        .ptr(CudaContext.address(out)).i32(t).i32(s).i32(d).f32(scale).i32(hq / images)
                        .run((t + rowsPerBlock - 1) / rowsPerBlock, hq, TowerAttentionResident.threads(paddedDim),
                                Math.toIntExact(TowerAttentionResident.sharedBytes(s, paddedDim)));
                residentImagesLaunches.incrementAndGet();
                return true;
            }
            ctx.launch.of(ctx.kernels.largeSharedFunction(tc.module(), kernel), kernel)
                    .ptr(qo.address).i64(qo.s0).i64(qo.s1).ptr(CudaContext.address(kh)).ptr(CudaContext.address(vh))
                    .ptr(CudaContext.address(out)).i32(t).i32(s).i32(hq).i32(hq).i32(d).f32(scale).i32(hq / images)
                    .run((t + tc.queriesPerBlock() - 1) / tc.queriesPerBlock(), hq, tc.threads(), tc.sharedBytes());
        }
        return true;
    }

    /**
     * The 16-bit kernel's block shape for {@code t} queries ({@code causal} or bidirectional) over {@code hq}
     * heads: {@link AttentionMmaWarps}'s choice, which {@link AttentionSmallGrid} may replace on grids too small
     * to fill this GPU (both properties read now).
     */
    private AttentionMmaWarps.Block block(int t, int hq, int paddedDim, boolean causal) {
        AttentionMmaWarps.Block chosen = AttentionMmaWarps.configured().block(t, hq, paddedDim, ctx.multiprocessors);
        return AttentionSmallGrid.configured().block(chosen, t, hq, paddedDim, causal, ctx.multiprocessors);
    }

    /**
     * The padded head dim of the tensor-core prefill kernel ({@code attention_forward_tc<dim>}) for
     * {@code t} queries of head dim {@code d}, or 0 for the SIMT kernel: decode-sized query counts
     * and head dims past {@value #TC_MAX_DIM} take the SIMT kernel.
     */
    static int tensorCoreDim(int t, int d) {
        if (t < TC_MIN_QUERIES || d > TC_MAX_DIM) {
            return 0;
        }
        return d <= 64 ? 64 : d <= 80 ? 80 : TC_MAX_DIM;
    }

    /**
     * The tensor-core prefill kernel of padded head dim {@code paddedDim}: at
     * {@link AttentionPrecision#BF16} or {@link AttentionPrecision#F16} without captured column sums
     * and with a positive {@code scale}, the 16-bit mma kernel of that type
     * {@code attention_mma_packed_<bf16|f16>_d<dim>_<block suffix>} (module {@code attention_mma},
     * blocks of 4 or 8 warps of 16 queries, or 4 warps of two 16-query tiles) fed by
     * {@code attention_mma_pack_<bf16|f16>_d<dim>}; else the
     * 3xTF32 kernel ({@code attention_forward_tc<dim>}, module {@code attention}): captured column
     * sums feed pruning scores and are computed against this pass's log-sum-exps, which must then be
     * F32-exact (captured rows are recomputed exactly by {@code attention_capture_rows} whatever the
     * pass), and the 16-bit kernel folds the scale into its row max, max(s) * a being max(s * a)
     * only for a > 0.
     */
    static TensorCoreKernel tensorCoreKernel(int paddedDim, AttentionPrecision precision, boolean columnSums,
                                             float scale, AttentionMmaWarps.Block block) {
        if (columnSums || precision == AttentionPrecision.F32 || !(scale > 0)) {
            int shared = ((2 * TC_KEYS + TC_QUERIES) * (paddedDim + 4) + TC_QUERIES * (TC_KEYS + 4)) * Float.BYTES;
            return new TensorCoreKernel("attention", "attention_forward_tc" + paddedDim, shared, TC_QUERIES,
                    TC_WARPS * 32, null);
        }
        String type = precision == AttentionPrecision.BF16 ? "bf16" : "f16";
        int row = (paddedDim + MMA_ROW_PAD) * MMA_ELEMENT_BYTES;
        boolean doubleBuffered = block.buffers() == 2;
        boolean sixteenRows = doubleBuffered && block.queryTiles() == 1 && block.keySplit() == 1
                && (block.warps() == 2 || block.warps() == 4 || block.warps() == 8);
        boolean twoTiles = doubleBuffered && block.queryTiles() == 2 && block.warps() == 4 && block.keySplit() == 1;
        boolean keySplit = doubleBuffered && block.queryTiles() == 1 && block.warps() == 2 && block.keySplit() == 2;
        boolean singleRound = block.buffers() == 1 && block.queryTiles() == 1 && block.warps() == 2
                && (block.keySplit() == 2 || block.keySplit() == 4);
        if (!sixteenRows && !twoTiles && !keySplit && !singleRound) {
            throw new TensorException("attention: the packed mma kernel runs blocks of 2, 4 or 8 warps of 16 queries, of"
                    + " 4 warps of two 16-query tiles, of 2 query warps with 2 key-split warps each, or of 2 query warps"
                    + " with 2 or 4 key-split warps each holding one round of key tiles, not " + block);
        }
        int shared = MMA_TILES_PER_BUFFER * block.buffers() * TC_KEYS * row * block.keySplit();
        if (twoTiles && paddedDim > MMA_QUERY_REGISTERS_MAX_DIM) {
            shared += block.queries() * row;
        }
        return new TensorCoreKernel("attention_mma", "attention_mma_packed_" + type + "_d" + paddedDim + "_" + block.suffix(),
                shared, block.queries(), block.threads(), "attention_mma_pack_" + type + "_d" + paddedDim);
    }

    /**
     * A prefill kernel: its module (fatbin), its name, its dynamic shared memory in bytes, the
     * queries and threads of one block, and the kernel (same module) that first packs K and V into
     * 16-bit [Hkv, S, paddedDim] for it, or null when it reads them as F32.
     */
    record TensorCoreKernel(String module, String name, int sharedBytes, int queriesPerBlock, int threads,
                            String packKernel) {
    }

    /**
     * The rows per kv head (a KV cache's capacity) when the 16-bit mma kernel of padded head dim
     * {@code paddedDim} can read K and V [S, Hkv, D] in place ({@code attention_mma_cache_*}): both
     * {@code half} views of head-major caches [Hkv, capacity, D] (entry j of head h at h * capacity * D
     * + j * D: a {@code KvCache} view), D = paddedDim of 64 or 128, 16-byte aligned, one layout;
     * else 0 (the pack kernel rounds them into packed scratch). Disabled by
     * {@code -Dglimpse.cuda.attentionCacheInPlace=false}.
     */
    static int cacheRowsInPlace(Tensor k, Tensor v, DType half, int paddedDim) {
        int d = k.dim(2);
        if (!inPlaceEnabled() || k.dtype() != half || v.dtype() != half || d != paddedDim
                || (d != 64 && d != 128)) {
            return 0;
        }
        boolean sameLayout = k.stride(0) == v.stride(0) && k.stride(1) == v.stride(1) && k.stride(2) == v.stride(2);
        long headStride = k.stride(1);
        boolean headMajor = k.stride(2) == 1 && k.stride(0) == d && (k.dim(1) == 1 || headStride % d == 0
                && headStride / d >= k.dim(0) && headStride / d <= Integer.MAX_VALUE);
        boolean aligned = ((CudaContext.address(k) | CudaContext.address(v)) % 16) == 0;
        if (!sameLayout || !headMajor || !aligned) {
            return 0;
        }
        return k.dim(1) == 1 ? Math.max(1, k.dim(0)) : (int) (headStride / d);
    }

    /** False only under {@code -Dglimpse.cuda.attentionCacheInPlace=false} (read at every call). */
    private static boolean inPlaceEnabled() {
        return BooleanProperty.read(IN_PLACE_PROPERTY, true);
    }

    /**
     * K and V (F32 [rows, heads, d]) rounded into fresh 16-bit scratch [heads, rows, paddedDim] each by
     * {@code kernel} ({@code attention_mma_pack_<t>_d<D>}), {K, V}: two launches, or under
     * {@code -Dglimpse.cuda.towerLean=true} ({@link CudaBackend#towerLeanEnabled}, read now) one launch of
     * {@code attention_mma_pack_kv_<t>_d<D>} whose grid's z = 0 and 1 run the pack kernel's body on K and on
     * V: the same values.
     */
    private Tensor[] packKeysValues(Temporaries tmp, String kernel, DType half, Operand ko, Operand vo, int rows,
                                    int heads, int d, int paddedDim) {
        long blocks = packBlocks(rows, heads, paddedDim);
        Tensor kh = tmp.scratch(half, heads, rows, paddedDim);
        Tensor vh = tmp.scratch(half, heads, rows, paddedDim);
        if (CudaBackend.towerLeanEnabled()) {
            String both = kernel.replace("attention_mma_pack_", "attention_mma_pack_kv_");
            ctx.launch.of(ctx.kernels.function("attention_mma", both), both)
                    .ptr(ko.address).i64(ko.s0).i64(ko.s1).ptr(vo.address).i64(vo.s0).i64(vo.s1)
                    .ptr(CudaContext.address(kh)).ptr(CudaContext.address(vh)).i32(rows).i32(d)
                    .run(blocks, heads, 2, CudaContext.POINTWISE_THREADS, 0);
            return new Tensor[] {kh, vh};
        }
        pack(kernel, ko, kh, blocks, rows, heads, d);
        pack(kernel, vo, vh, blocks, rows, heads, d);
        return new Tensor[] {kh, vh};
    }

    /**
     * The x extent of a pack grid over {@code heads} heads of {@code rows} rows (one thread per 8 values,
     * grid-stride, about 16 blocks per SM in all); checks the kernel's limits.
     */
    private long packBlocks(int rows, int heads, int paddedDim) {
        long chunks = (long) rows * (paddedDim / 8);
        if (chunks > Integer.MAX_VALUE / 2 || heads > MAX_GRID_Y) {
            throw new TensorException("attention: " + rows + " keys x " + heads + " kv heads exceed the 16-bit packing"
                    + " kernel's limits (" + Integer.MAX_VALUE / 2 + " 8-value chunks per head, " + MAX_GRID_Y + " heads)");
        }
        long blocks = Math.min((chunks + CudaContext.POINTWISE_THREADS - 1) / CudaContext.POINTWISE_THREADS,
                Math.max(1, (long) ctx.multiprocessors * 16 / heads));
        return Math.max(1, blocks);
    }

    /**
     * An F32 [rows, heads, d] operand rounded into 16-bit {@code dst} [heads, rows, paddedDim] (dims
     * past d zero) by {@code kernel}: grid (blocks over one head's rows, heads), one thread per 8
     * values, grid-stride.
     */
    private void pack(String kernel, Operand src, Tensor dst, long blocks, int rows, int heads, int d) {
        ctx.launch.of(ctx.kernels.function("attention_mma", kernel), kernel)
                .ptr(src.address).i64(src.s0).i64(src.s1).ptr(CudaContext.address(dst)).i32(rows).i32(d)
                .run(blocks, heads, CudaContext.POINTWISE_THREADS, 0);
    }

    /**
     * One token's k, v [1, Hkv, D] into entry *length of caches [Hkv, capacity, D] (decode.cu
     * {@code kv_append_step[_bf16|_f16]}: 16-bit caches get k and v rounded to nearest even).
     */
    void appendStep(Tensor k, Tensor v, Tensor keyCache, Tensor valueCache, Tensor length) {
        int[] cacheShape = Checks.kvCache(keyCache, valueCache, ctx.device, "appendKv");
        int hkv = cacheShape[0];
        int d = cacheShape[2];
        Checks.f32(k, ctx.device, "appendKv", "k");
        Checks.f32(v, ctx.device, "appendKv", "v");
        if (!k.sameShape(v) || k.numel() != (long) hkv * d || !Checks.contiguous(k) || !Checks.contiguous(v)) {
            throw new TensorException("appendKv: k and v must be packed [1, " + hkv + ", " + d + "], got " + k + " and " + v);
        }
        Checks.deviceCount(length, ctx.device, "appendKv", "length");
        int n = hkv * d;
        String kernel = "kv_append_step" + Checks.kvSuffix(keyCache);
        ctx.launch.of(ctx.kernels.function("decode", kernel), kernel)
                .ptr(CudaContext.address(k)).ptr(CudaContext.address(v)).ptr(CudaContext.address(keyCache))
                .ptr(CudaContext.address(valueCache)).i32(hkv).i32(cacheShape[1]).i32(d).ptr(CudaContext.address(length))
                .run(ctx.pointwiseBlocks(n), 1, CudaContext.POINTWISE_THREADS, 0);
    }

    /** A [N, H, D] F32 operand with a packed last dim: its address and the strides of dims 0 and 1. */
    private record Operand(long address, long s0, long s1) {
        static Operand of(Tensor t) {
            long s1 = t.dim(1) == 1 ? t.dim(2) : t.stride(1);
            long s0 = t.dim(0) == 1 ? (long) t.dim(1) * s1 : t.stride(0);
            return new Operand(CudaContext.address(t), s0, s1);
        }
    }

    private int[] validateCapture(AttentionCapture c, int t, int hq, int s) {
        if (c == null) {
            return null;
        }
        int[] rows = null;
        if (c.queryRows() != null || c.rowProbs() != null) {
            if (c.queryRows() == null || c.rowProbs() == null) {
                throw new TensorException("attention capture: queryRows and rowProbs must be given together");
            }
            rows = c.queryRows();
            Checks.out(c.rowProbs(), new int[] {hq, rows.length, s}, ctx.device, "attention capture rowProbs");
            for (int r : rows) {
                if (r < 0 || r >= t) {
                    throw new TensorException("attention capture: query row " + r + " is outside [0, " + t + ")");
                }
            }
        }
        if (c.columnSums() != null) {
            Checks.out(c.columnSums(), new int[] {hq, s}, ctx.device, "attention capture columnSums");
        }
        return rows;
    }

    /**
     * Head pruning after an attention pass: the rows of every query head outside
     * {@code activeHeads} (null: none) become exact zeros in {@code out} [T, Hq, D] and in the
     * capture's tensors, by 2-D memsets on the stream (no host wait; records into a CUDA graph).
     * The kernels still compute those heads: masking inside them (early-exit blocks) would save
     * that work, and is left for when head pruning's speed matters on the GPU.
     */
    void zeroHeads(Tensor out, AttentionCapture capture, boolean[] activeHeads) {
        if (activeHeads == null) {
            return;
        }
        int hq = out.dim(1);
        if (activeHeads.length != hq) {
            throw new TensorException("attention: head mask has " + activeHeads.length + " entries for " + hq
                    + " query heads");
        }
        if (out.stride(2) != 1 || out.stride(1) != out.dim(2)) {
            throw new TensorException("attention: a head mask needs out's heads packed ([T, Hq, D] rows of D), got " + out);
        }
        for (int h = 0; h < hq; h++) {
            if (activeHeads[h]) {
                continue;
            }
            memset2D(out, h * out.stride(1), out.stride(0), out.dim(2), out.dim(0));
            if (capture != null && capture.rowProbs() != null) {
                Tensor r = capture.rowProbs();
                memset2D(r, h * r.stride(0), r.stride(0), r.stride(0), 1);
            }
            if (capture != null && capture.columnSums() != null) {
                Tensor c = capture.columnSums();
                memset2D(c, h * c.stride(0), c.stride(0), c.stride(0), 1);
            }
        }
    }

    /** Zeroes {@code rows} runs of {@code width} F32 values, {@code pitch} values apart, from element {@code first}. */
    private void memset2D(Tensor t, long first, long pitch, long width, long rows) {
        if (width == 0 || rows == 0) {
            return;
        }
        long base = CudaContext.address(t) + first * 4;
        Cuda.check(cudart.cudaMemset2DAsync(Cuda.at(base), pitch * 4, 0, width * 4, rows, ctx.stream),
                "cudaMemset2DAsync");
    }

    private void zeroCaptures(AttentionCapture c) {
        if (c != null) {
            memsetZero(c.rowProbs());
            memsetZero(c.columnSums());
        }
    }

    private void memsetZero(Tensor t) {
        if (t != null && t.numel() > 0) {
            Cuda.check(cudart.cudaMemsetAsync(Cuda.at(CudaContext.address(t)), 0, t.numel() * t.dtype().byteSize(), ctx.stream),
                    "cudaMemsetAsync");
        }
    }
}
