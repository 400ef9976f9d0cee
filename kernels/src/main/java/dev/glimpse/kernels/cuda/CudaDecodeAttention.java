package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.util.Locale;

/**
 * Decode attention by flash-decoding (decode.cu): one query q [1, Hq, D] over the first
 * {@code *keyCount} entries of a layer's caches [Hkv, capacity, D] of F32, BF16 or F16 (16-bit
 * entries are widened exactly at load by the {@code _bf16} / {@code _f16} kernels, F32 arithmetic on
 * them in the same passes, summed in another order where their loads are wider: within the F32
 * kernels' CPU tolerance of attention over the widened values), the keys split over
 * {@link FlashDecodePlan#splits()} blocks per group of query heads sharing a kv head. The grid
 * depends on the caches' capacity and shape only, so a captured graph replays it for every key
 * count.
 *
 * <p>Two launch shapes compute the same bits ({@link Combine}): {@code attention_decode_fused}
 * (the default) writes each split's partial softmax sums and lets the last block of each head
 * group to finish merge them, in one launch; {@code attention_decode_split} followed by
 * {@code attention_decode_combine} does it in two. {@code -Dglimpse.cuda.decodeCombine=fused|separate}
 * picks one, read at every call (a captured graph keeps the kernels it was captured with).
 *
 * <p>{@link Kernel} picks between that split kernel and online flash-decoding
 * ({@code attention_decode_online*}, {@link OnlineDecodePlan}: warps keep a running softmax over
 * 32-key tiles, larger chunks, fewer splits to merge; always merged by its last block, so the
 * combine property does not apply to it). Both compute F32 scores, softmax and sums and match the
 * CPU backend within the same tolerance, but not bit for bit with each other.
 * {@code -Dglimpse.cuda.decodeAttention=split|online|wide|auto}, read at every call ({@code wide}:
 * {@link WideDecodePlan}, opt-in); over 16-bit caches
 * {@link OnlineDecode16} picks the online kernel for 8-head groups
 * ({@code -Dglimpse.cuda.decodeOnline16=current|passes|passes_early}).
 */
final class CudaDecodeAttention implements AutoCloseable {

    /** The system property that picks the {@link Combine}. */
    static final String COMBINE_PROPERTY = "glimpse.cuda.decodeCombine";

    /** The system property that picks the {@link Kernel}. */
    static final String KERNEL_PROPERTY = "glimpse.cuda.decodeAttention";

    /** The module of the decode attention kernels (decode.cu), all but {@link OnlineDecode16#PASSES_MODULE}'s. */
    static final String MODULE = "decode";

    /** Which flash-decoding kernel runs. */
    enum Kernel {
        /** {@code attention_decode_fused} or split + combine ({@link Combine}). */
        SPLIT,
        /** {@code attention_decode_online*} where the head dim allows ({@link OnlineDecodePlan#supports}), else split. */
        ONLINE,
        /**
         * For caches of at least {@value #AUTO_ONLINE_CAPACITY} entries (long contexts: the split
         * kernel's last block merges one split per 64 keys), {@link #WIDE} where it applies, else
         * online; split for shorter caches. The default. On the H200 (DecodeAttentionBench,
         * 2026-11-28, f7a4bce) the online kernel took Qwen2-0.5B's decode attention over a cache of
         * 8192 from 12.7 to 9.4 us at 600 keys and from 23.0 to 12.8 us at 6,300 keys (16,000 of
         * 16,384: 38.5 to 16.3 us), Llama-7B's from 15.0 to 11.2 us at 600 keys; the wide kernel
         * (same bench, 2026-11-29, bundle of 989b4bc, PDL on, F32 caches) took them further: 9.36 ->
         * 7.07, 12.86 -> 10.65, 16.76 -> 15.84 and 11.22 -> 8.79 us. Shorter caches are unmeasured.
         */
        AUTO,
        /**
         * {@code attention_decode_wide*} ({@link WideDecodePlan}: about one 256-thread block per SM, each
         * streaming a short chunk with all of its loads in flight, merged by the last block in parallel
         * over heads x columns x splits) for head dims 64 and 128 over 16-byte aligned caches, else as
         * {@link #ONLINE}; what {@link #AUTO} runs on long caches.
         */
        WIDE;

        /** The capacity from which {@link #AUTO} takes the online kernel. */
        static final int AUTO_ONLINE_CAPACITY = 4096;

        /** The configured kernel, {@link #AUTO} when the property is unset or blank. */
        static Kernel configured() {
            String value = System.getProperty(KERNEL_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
            return switch (value) {
                case "split" -> SPLIT;
                case "online" -> ONLINE;
                case "wide" -> WIDE;
                case "", "auto" -> AUTO;
                default -> throw new TensorException("-D" + KERNEL_PROPERTY + "=" + value
                        + " is not split, online, wide or auto");
            };
        }

        /** True when this choice runs the online kernel on heads of dim d over caches of the capacity. */
        boolean online(int d, int capacity) {
            return OnlineDecodePlan.supports(d) && switch (this) {
                case SPLIT -> false;
                case ONLINE, WIDE -> true;
                case AUTO -> capacity >= AUTO_ONLINE_CAPACITY;
            };
        }
    }

    /** How the per-split partials become the output. */
    enum Combine {
        /** Split kernel, then a combine kernel: two launches. */
        SEPARATE,
        /** The split kernel's last block per head group merges: one launch. The default. */
        FUSED;

        /** The configured mode, {@link #FUSED} when the property is unset or blank. */
        static Combine configured() {
            String value = System.getProperty(COMBINE_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
            return switch (value) {
                case "", "fused" -> FUSED;
                case "separate" -> SEPARATE;
                default -> throw new TensorException("-D" + COMBINE_PROPERTY + "=" + value + " is not fused or separate");
            };
        }
    }

    private final CudaContext ctx;
    private final FlashDecodeWorkspace workspace;

    CudaDecodeAttention(CudaContext ctx) {
        this.ctx = ctx;
        this.workspace = new FlashDecodeWorkspace(ctx);
    }

    /** Attention of q over the first *keyCount (device I32 [1]) cache entries into out [1, Hq, D]. */
    void run(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, float scale, Tensor out) {
        if (!check(q, keyCache, valueCache, keyCount, out, "decodeAttention")) {
            return;
        }
        Dims dims = Dims.of(q, keyCache);
        int width = vectorWidth(keyCache, valueCache);
        Kernel choice = Kernel.configured();
        if (takesWide(choice, keyCache, valueCache)) {
            runWide(q, keyCache, valueCache, keyCount, scale, out, dims);
            return;
        }
        if (choice.online(dims.d(), dims.capacity())) {
            // The online kernel reads q with the keys, 16 bytes at a time when vectorised.
            runOnline(q, keyCache, valueCache, keyCount, scale, out, dims,
                    width > 1 && CudaContext.address(q) % 16 == 0);
            return;
        }
        String suffix = Checks.kvSuffix(keyCache) + (width == 1 ? "" : "_vec" + width);
        FlashDecodePlan plan = FlashDecodePlan.of(dims.hq(), dims.hkv(), dims.capacity(), ctx.multiprocessors);
        Partials partials = partials(plan.workspaceFloats(dims.hq(), dims.d()), dims, plan.splits(), plan.headBlocks());
        if (Combine.configured() == Combine.FUSED) {
            long counters = workspace.counters((int) partials.columns());
            runMerging(MODULE, "attention_decode_fused" + suffix, q, keyCache, valueCache, keyCount, scale, out, dims,
                    partials, counters, plan.splits(), plan.headsPerBlock(), FlashDecodePlan.THREADS,
                    plan.sharedBytes(dims.d(), width));
            return;
        }
        String split = "attention_decode_split" + suffix;
        ctx.launch.of(ctx.kernels.function(MODULE, split), split)
                .ptr(CudaContext.address(q)).ptr(CudaContext.address(keyCache)).ptr(CudaContext.address(valueCache))
                .ptr(partials.sums()).ptr(partials.stats()).ptr(CudaContext.address(keyCount))
                .i32(dims.hq()).i32(dims.hkv()).i32(dims.capacity()).i32(dims.d())
                .i32(plan.splits()).i32(plan.headsPerBlock()).f32(scale)
                .run(partials.columns(), plan.splits(), FlashDecodePlan.THREADS, plan.sharedBytes(dims.d(), width));
        ctx.launch.of(ctx.kernels.function(MODULE, "attention_decode_combine"), "attention_decode_combine")
                .ptr(partials.sums()).ptr(partials.stats()).ptr(CudaContext.address(out))
                .ptr(CudaContext.address(keyCount))
                .i32(dims.capacity()).i32(dims.d()).i32(plan.splits())
                .run(dims.hq(), 1, FlashDecodePlan.THREADS, 0);
    }

    /**
     * Checks {@link #run}'s arguments (op names the caller in messages); false when there is nothing to
     * compute (no query heads, or heads of dim 0).
     */
    private boolean check(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, Tensor out, String op) {
        Checks.kvCache(keyCache, valueCache, ctx.device, op);
        int hkv = keyCache.dim(0);
        int d = keyCache.dim(2);
        Checks.f32(q, ctx.device, op, "q");
        if (q.rank() != 3 || q.dim(0) != 1 || q.dim(2) != d || !Checks.contiguous(q)) {
            throw new TensorException(op + ": q must be packed [1, Hq, " + d + "], got " + q);
        }
        int hq = q.dim(1);
        if (hkv == 0 || hq % hkv != 0 || d > CudaAttention.MAX_HEAD_DIM) {
            throw new TensorException(op + ": " + hq + " query heads over " + hkv + " kv heads of dim " + d
                    + " (heads must divide, dim <= " + CudaAttention.MAX_HEAD_DIM + ")");
        }
        Checks.out(out, q.shape(), ctx.device, op);
        Checks.deviceCount(keyCount, ctx.device, op, "keyCount");
        return hq != 0 && d != 0;
    }

    /**
     * True when the wide kernel takes attention over these caches under {@code choice}: {@link Kernel#WIDE},
     * or {@link Kernel#AUTO} on a cache of {@value Kernel#AUTO_ONLINE_CAPACITY}+ entries, for heads of dim 64
     * or 128 over 16-byte aligned caches ({@link WideDecodePlan#supports}).
     */
    static boolean takesWide(Kernel choice, Tensor keyCache, Tensor valueCache) {
        int capacity = keyCache.dim(1);
        boolean wide = choice == Kernel.WIDE || choice == Kernel.AUTO && capacity >= Kernel.AUTO_ONLINE_CAPACITY;
        return wide && WideDecodePlan.supports(keyCache.dim(2), vectorWidth(keyCache, valueCache) > 1);
    }

    /**
     * {@link CudaFusedDecode#ropeAppendKv} then {@link #run} in one launch,
     * {@code attention_decode_wide_rope[_bf16|_f16]_d<D>_h<HP>}, where {@link #run} would take the wide
     * kernel: the same cache entries, output and workspace, bit for bit, but q is left unrotated (the
     * kernel rotates each block's heads as it stages them). Returns false, having launched nothing,
     * where the wide kernel does not apply (or there are no query heads). cos and sin are packed F32
     * [1, half]; the rope arguments are checked by the caller ({@link CudaFusedDecode#ropeAppendHalf}).
     */
    boolean runRope(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, int half, Tensor keyCache, Tensor valueCache,
                    Tensor length, Tensor keyCount, float scale, Tensor out) {
        if (!check(q, keyCache, valueCache, keyCount, out, "ropeAppendKvDecodeAttention")
                || !takesWide(Kernel.configured(), keyCache, valueCache)) {
            return false;
        }
        Dims dims = Dims.of(q, keyCache);
        WideDecodePlan plan = WideDecodePlan.of(dims.hq(), dims.hkv(), dims.capacity(), ctx.multiprocessors);
        Partials partials = partials(plan.workspaceFloats(dims.hq(), dims.d()), dims, plan.splits(), plan.headBlocks());
        long counters = workspace.counters((int) partials.columns());
        String kernel = plan.ropeKernel(keyCache.dtype(), dims.d());
        ctx.launch.of(ctx.kernels.function(WideDecodePlan.MODULE, kernel), kernel)
                .ptr(CudaContext.address(q)).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                .ptr(CudaContext.address(cos)).ptr(CudaContext.address(sin)).ptr(CudaContext.address(keyCache))
                .ptr(CudaContext.address(valueCache)).ptr(CudaContext.address(length))
                .ptr(partials.sums()).ptr(partials.stats()).ptr(CudaContext.address(out)).ptr(counters)
                .ptr(CudaContext.address(keyCount))
                .i32(dims.hq()).i32(dims.hkv()).i32(dims.capacity()).i32(dims.d())
                .i32(half).i32(plan.splits()).i32(plan.headsPerBlock()).f32(scale)
                .run(partials.columns(), plan.splits(), WideDecodePlan.THREADS, 0);
        return true;
    }

    /** Online flash-decoding in one launch; arguments checked by {@link #run}. */
    private void runOnline(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, float scale, Tensor out,
                           Dims dims, boolean vector) {
        OnlineDecodePlan plan = OnlineDecodePlan.of(dims.hq(), dims.hkv(), dims.capacity(), ctx.multiprocessors);
        Partials partials = partials(plan.workspaceFloats(dims.hq(), dims.d()), dims, plan.splits(), plan.headBlocks());
        long counters = workspace.counters((int) partials.columns());
        OnlineDecode16 online16 = OnlineDecode16.configured();
        String kernel = plan.kernel(keyCache.dtype(), vector, online16);
        String module = online16.module(keyCache.dtype(), vector, plan.paddedHeads());
        runMerging(module, kernel, q, keyCache, valueCache, keyCount, scale, out, dims,
                partials, counters, plan.splits(), plan.headsPerBlock(), FlashDecodePlan.THREADS, 0);
    }

    /** Wide flash-decoding in one launch; arguments checked by {@link #run}. */
    private void runWide(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, float scale, Tensor out,
                         Dims dims) {
        WideDecodePlan plan = WideDecodePlan.of(dims.hq(), dims.hkv(), dims.capacity(), ctx.multiprocessors);
        Partials partials = partials(plan.workspaceFloats(dims.hq(), dims.d()), dims, plan.splits(), plan.headBlocks());
        long counters = workspace.counters((int) partials.columns());
        String kernel = plan.kernel(keyCache.dtype(), dims.d());
        runMerging(WideDecodePlan.MODULE, kernel, q, keyCache, valueCache, keyCount, scale, out, dims,
                partials, counters, plan.splits(), plan.headsPerBlock(), WideDecodePlan.THREADS, 0);
    }

    /** A call's sizes: hq query heads over hkv kv heads of dim d, in caches of {@code capacity} entries. */
    private record Dims(int hq, int hkv, int capacity, int d) {

        /** The sizes of q [1, Hq, D] over caches [Hkv, capacity, D]. */
        static Dims of(Tensor q, Tensor keyCache) {
            return new Dims(q.dim(1), keyCache.dim(0), keyCache.dim(1), keyCache.dim(2));
        }
    }

    /**
     * Where a launch's per-split partials lie in the workspace: {@code sums} [Hq, splits, D] then their softmax
     * {@code stats}; and the launch grid's {@code columns}, kv heads x head blocks.
     */
    private record Partials(long sums, long stats, long columns) {
    }

    /**
     * The partials of a launch over {@code dims} in {@code splits} splits and {@code headBlocks} blocks per kv
     * head's group of query heads, growing the workspace to {@code floats} where needed.
     */
    private Partials partials(long floats, Dims dims, int splits, int headBlocks) {
        long sums = workspace.address(floats);
        return new Partials(sums, sums + (long) dims.hq() * splits * dims.d() * Float.BYTES,
                (long) dims.hkv() * headBlocks);
    }

    /**
     * Launches a split kernel whose last block per head group merges the partials into out
     * ({@code attention_decode_fused*}, {@code attention_decode_online*}, {@code attention_decode_wide*}: the same
     * parameters), {@code kernel} of {@code module}, on a grid of the partials' columns x splits; counters from
     * {@link FlashDecodeWorkspace#counters} for those columns. Arguments checked by {@link #run}.
     */
    private void runMerging(String module, String kernel, Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount,
                            float scale, Tensor out, Dims dims, Partials partials, long counters, int splits,
                            int headsPerBlock, int threads, int sharedBytes) {
        ctx.launch.of(ctx.kernels.function(module, kernel), kernel)
                .ptr(CudaContext.address(q)).ptr(CudaContext.address(keyCache)).ptr(CudaContext.address(valueCache))
                .ptr(partials.sums()).ptr(partials.stats()).ptr(CudaContext.address(out)).ptr(counters)
                .ptr(CudaContext.address(keyCount))
                .i32(dims.hq()).i32(dims.hkv()).i32(dims.capacity()).i32(dims.d())
                .i32(splits).i32(headsPerBlock).f32(scale)
                .run(partials.columns(), splits, threads, sharedBytes);
    }

    /**
     * Cache entries per load of the split kernels: 4 for F32 caches ({@code _vec4}), 8 for 16-bit ones
     * ({@code _vec8}, head dims up to {@value OnlineDecodePlan#MAX_HEAD_DIM}: their P V partials in
     * shared memory grow with the width) when D is a multiple and both caches are 16-byte aligned;
     * else 1.
     */
    static int vectorWidth(Tensor keyCache, Tensor valueCache) {
        int d = keyCache.dim(2);
        boolean half = keyCache.dtype() != DType.F32;
        int width = half ? 8 : 4;
        boolean aligned = (CudaContext.address(keyCache) | CudaContext.address(valueCache)) % 16 == 0;
        return d % width == 0 && aligned && (!half || d <= OnlineDecodePlan.MAX_HEAD_DIM) ? width : 1;
    }

    /** Frees the workspace and counters; called when the backend closes. */
    @Override
    public void close() {
        workspace.close();
    }
}
