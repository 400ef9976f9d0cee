package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.cudart.CUfunc_st;

import java.util.List;

/**
 * The fused ops of the CUDA decode step ({@code decode_fused.cu}): RMSNorm folded into the GEMVs
 * that read it, the gated MLP's activation folded into its gate/up GEMV, the residual add folded
 * into o_proj/down_proj, and RoPE of q and k folded into the KV-cache append. Each equals a
 * composition of unfused backend ops (named on each method) to F32 rounding: the kernels do the
 * same F32 products, sums and epilogues, and only the k split of a multi-weight GEMV (one split
 * for all its weights) can order a sum differently from the separate GEMVs.
 *
 * <p>The fused kernels need at most {@value CudaGemm#GEMV_MAX_ROWS} rows of packed F32 x, F16/BF16
 * weights with packed, 16-byte aligned rows and {@code k % 8 == 0} ({@link #fuses}); other
 * arguments run the composition itself, with scratch tensors. Launches wait on nothing, so the
 * fused path records into a CUDA graph.
 */
final class CudaFusedDecode {

    static final String MODULE = "decode_fused";

    /** Threads per block of the GEMV kernels (GEMV_MULTI_THREADS in gemv_core.cuh). */
    private static final int THREADS = 256;
    /** Weight rows per warp group (FUSED_R) and gate/up pairs per warp group (FUSED_PAIRS). */
    private static final int ROWS_PER_WARP = 4;
    private static final int PAIRS_PER_WARP = 2;
    /** Weights one rms_norm_linear launch serves (FUSED_SEGMENTS). */
    static final int MAX_TARGETS = 3;
    /** Blocks per multiprocessor the k split aims for (as CudaGemm's multi-feature GEMV). */
    private static final int BLOCKS_PER_SM = 8;
    /**
     * Most dynamic shared memory a staged GEMV block may take (x's rows and its staged weight rows),
     * so that two such blocks still fit a multiprocessor ({@link WeightStaging}).
     */
    static final int STAGE_BYTES = 100 * 1024;

    private final CudaContext ctx;
    private final CudaCopy copier;
    private final CudaGemm gemm;
    private final CudaPointwise pointwise;

    CudaFusedDecode(CudaContext ctx, CudaCopy copier, CudaGemm gemm, CudaPointwise pointwise) {
        this.ctx = ctx;
        this.copier = copier;
        this.gemm = gemm;
        this.pointwise = pointwise;
    }

    /** True when the fused GEMV kernels read weight {@code w} in place (F16/BF16 [n, k], packed 16-byte aligned rows, k % 8 == 0). */
    boolean fuses(Tensor w) {
        if (w == null || !w.device().equals(ctx.device) || w.rank() != 2
                || (w.dtype() != DType.F16 && w.dtype() != DType.BF16)) {
            return false;
        }
        int k = w.dim(1);
        boolean rowsPacked = k <= 1 || w.stride(1) == 1;
        long ldw = leading(w);
        return rowsPacked && k % 8 == 0 && ldw >= k && ldw % 8 == 0 && CudaContext.address(w) % 16 == 0;
    }

    /**
     * {@code rmsNorm(x, gamma, eps)} then {@code linear(normed, t.w, t.bias, t.out)} for each target,
     * in one launch when they fuse.
     */
    void rmsNormLinear(Tensor x, Tensor gamma, float eps, List<LinearTarget> targets) {
        String op = "rmsNormLinear";
        if (targets.isEmpty() || targets.size() > MAX_TARGETS) {
            throw new TensorException(op + ": takes 1 to " + MAX_TARGETS + " weights, got " + targets.size());
        }
        int k = requireInput(x, gamma, op);
        for (LinearTarget t : targets) {
            requireLinear(x, t.w(), t.bias(), k, op);
            Checks.out(t.out(), outShape(x, t.w().dim(0)), ctx.device, op);
            requireDisjoint(x, t.out(), op);
        }
        int rows = Checks.rows(x);
        if (rows == 0) {
            return;
        }
        boolean fused = normFits(x, rows, k) && targets.stream().allMatch(t -> fuses(t.w()) && t.w().dtype() == targets.get(0).w().dtype());
        if (!fused) {
            try (Temporaries tmp = new Temporaries(copier)) {
                Tensor normed = tmp.scratch(DType.F32, x.shape());
                pointwise.rmsNorm(x, gamma, eps, normed);
                for (LinearTarget t : targets) {
                    gemm.linear(normed, t.w(), t.bias(), t.out());
                }
            }
            return;
        }
        int[] n = new int[MAX_TARGETS];
        for (int i = 0; i < targets.size(); i++) {
            n[i] = targets.get(i).w().dim(0);
        }
        GemvLaunch plan = normLinearsPlan(rows, k, n);
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor g = tmp.packed(gamma, null);
            Launch launch = normArguments(ctx.launch.of(plan.function(), plan.name()), x, g, eps, k)
                    .i32(targets.get(0).w().dtype().ordinal());
            for (int i = 0; i < MAX_TARGETS; i++) {
                if (i < targets.size()) {
                    LinearTarget t = targets.get(i);
                    Tensor b = t.bias() == null ? null : tmp.packed(t.bias(), null);
                    launch.ptr(CudaContext.address(t.w())).i64(leading(t.w()))
                            .ptr(b == null ? 0L : CudaContext.address(b)).i32(b == null ? 0 : b.dtype().ordinal())
                            .ptr(CudaContext.address(t.out())).i32(n[i]);
                } else {
                    launch.ptr(0L).i64(0L).ptr(0L).i32(0).ptr(0L).i32(0);
                }
            }
            plan.stagingArguments(launch.i32(targets.size()).i32(rows).i32(k).i32(plan.split()))
                    .run(plan.blocks(), 1, THREADS, plan.shared());
        }
    }

    /**
     * {@code rmsNorm(x, gamma, eps)}, {@code linear(normed, wGate, gateBias, gate)},
     * {@code linear(normed, wUp, upBias, up)}, then {@code gatedActivation(act, gate, up, out)}:
     * {@code out = act(gate) * up}, in one launch when the weights fuse (same dtype and row pitch,
     * biases both absent or of one dtype). out may be F32, F16 or BF16.
     */
    void rmsNormGatedMlpIn(Tensor x, Tensor gamma, float eps, Tensor wGate, Tensor gateBias, Tensor wUp, Tensor upBias,
                           Activation act, Tensor out) {
        String op = "rmsNormGatedMlpIn";
        if (act == null) {
            throw new TensorException(op + ": the activation function must not be null");
        }
        int k = requireInput(x, gamma, op);
        requireLinear(x, wGate, gateBias, k, op);
        requireLinear(x, wUp, upBias, k, op);
        if (!wGate.sameShape(wUp)) {
            throw new TensorException(op + ": gate and up weights must have one shape, got " + wGate + " and " + wUp);
        }
        int n = wGate.dim(0);
        int[] shape = outShape(x, n);
        Checks.floatOut(out, shape, ctx.device, op);
        requireDisjoint(x, out, op);
        int rows = Checks.rows(x);
        if (rows == 0 || n == 0) {
            return;
        }
        boolean biasesMatch = gateBias == null ? upBias == null : upBias != null && gateBias.dtype() == upBias.dtype();
        boolean fused = normFits(x, rows, k) && fuses(wGate) && fuses(wUp) && wGate.dtype() == wUp.dtype()
                && leading(wGate) == leading(wUp) && biasesMatch;
        try (Temporaries tmp = new Temporaries(copier)) {
            if (!fused) {
                Tensor normed = tmp.scratch(DType.F32, x.shape());
                Tensor gate = tmp.scratch(DType.F32, shape);
                Tensor up = tmp.scratch(DType.F32, shape);
                pointwise.rmsNorm(x, gamma, eps, normed);
                gemm.linear(normed, wGate, gateBias, gate);
                gemm.linear(normed, wUp, upBias, up);
                pointwise.gatedActivation(act, gate, up, out);
                return;
            }
            GemvLaunch plan = gatedMlpInPlan(rows, n, k);
            Tensor g = tmp.packed(gamma, null);
            Tensor gb = gateBias == null ? null : tmp.packed(gateBias, null);
            Tensor ub = upBias == null ? null : tmp.packed(upBias, null);
            Launch launch = normArguments(ctx.launch.of(plan.function(), plan.name()), x, g, eps, k).i32(wGate.dtype().ordinal())
                    .ptr(CudaContext.address(wGate)).ptr(gb == null ? 0L : CudaContext.address(gb))
                    .ptr(CudaContext.address(wUp)).ptr(ub == null ? 0L : CudaContext.address(ub))
                    .i32(gb == null ? 0 : gb.dtype().ordinal()).i64(leading(wGate)).i32(act.ordinal())
                    .ptr(CudaContext.address(out)).i32(out.dtype().ordinal()).i32(rows).i32(n).i32(k).i32(plan.split());
            plan.stagingArguments(launch).run(plan.blocks(), 1, THREADS, plan.shared());
        }
    }

    /**
     * {@code linear(x, w, bias, projected)} then {@code add(residual, projected, out)}:
     * {@code out = residual + (x w^T + bias)}. out may be residual itself (each element is read
     * and then written by one thread), but must not otherwise overlap residual or x. Beyond the
     * fused GEMV's rows the product adds the residual in cuBLASLt's epilogue where
     * {@link CudaGemm#linearAddResidual} can, else runs {@code linear} and the add.
     */
    void linearAddResidual(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        String op = "linearAddResidual";
        Checks.floating(x, ctx.device, op, "x");
        if (x.rank() < 1) {
            throw new TensorException(op + ": x must be [.., k], got " + x);
        }
        if (x.dtype() != DType.F32 && x.dtype() != w.dtype()) {
            throw new TensorException(op + ": x must be F32 or of w's dtype " + w.dtype() + ", got x " + x + " and w " + w);
        }
        int k = Checks.width(x);
        requireLinear(x, w, bias, k, op);
        if (x.dtype() != DType.F32 && x.dtype() != w.dtype()) {
            throw new TensorException(op + ": x must be F32 or of w's dtype " + w.dtype() + ", got x " + x + " and w " + w);
        }
        int n = w.dim(0);
        int[] shape = outShape(x, n);
        Checks.out(out, shape, ctx.device, op);
        Checks.f32(residual, ctx.device, op, "residual");
        if (!java.util.Arrays.equals(residual.shape(), shape) || !Checks.contiguous(residual)) {
            throw new TensorException(op + ": residual must be packed " + java.util.Arrays.toString(shape) + ", got " + residual);
        }
        requireDisjoint(x, out, op);
        if (CudaContext.address(residual) != CudaContext.address(out) && overlaps(residual, out)) {
            throw new TensorException(op + ": residual " + residual + " partly overlaps out " + out
                    + "; pass the same tensor or disjoint ones");
        }
        int rows = Checks.rows(x);
        if (rows == 0 || n == 0) {
            return;
        }
        boolean fused = rows <= CudaGemm.GEMV_MAX_ROWS && k > 0 && x.dtype() == DType.F32 && Checks.contiguous(x)
                && CudaContext.address(x) % 16 == 0 && fuses(w);
        if (!fused && gemm.linearAddResidual(x, w, bias, residual, out)) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            if (!fused) {
                Tensor projected = tmp.scratch(DType.F32, shape);
                gemm.linear(x, w, bias, projected);
                pointwise.binary(residual, projected, out, 0, "add");
                return;
            }
            GemvLaunch plan = linearResidualPlan(rows, n, k);
            Tensor b = bias == null ? null : tmp.packed(bias, null);
            Launch launch = ctx.launch.of(plan.function(), plan.name())
                    .ptr(CudaContext.address(x)).ptr(CudaContext.address(w)).i32(w.dtype().ordinal()).i64(leading(w))
                    .ptr(b == null ? 0L : CudaContext.address(b)).i32(b == null ? 0 : b.dtype().ordinal())
                    .ptr(CudaContext.address(residual)).ptr(CudaContext.address(out)).i32(rows).i32(n).i32(k).i32(plan.split());
            plan.stagingArguments(launch).run(plan.blocks(), 1, THREADS, plan.shared());
        }
    }

    /**
     * {@code rope(q, cos, sin, q)}, {@code rope(k, cos, sin, k')} and {@code appendKv(k', v, keyCache,
     * valueCache, length)} for one token: q [1, Hq, D] is rotated in place; the rotated k goes only
     * to the cache (k itself is left as it was). cos, sin [1, R/2]; caches [Hkv, capacity, D] of F32,
     * BF16 or F16 ({@code rope_append_kv[_bf16|_f16]}: 16-bit caches get the rotated k and v rounded to nearest even);
     * length a device I32 [1].
     */
    void ropeAppendKv(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache, Tensor valueCache,
                      Tensor length) {
        int half = ropeAppendHalf(q, k, v, cos, sin, keyCache, valueCache, length, "ropeAppendKv");
        int hkv = keyCache.dim(0);
        int capacity = keyCache.dim(1);
        int d = keyCache.dim(2);
        int heads = q.dim(1);
        long total = (long) (heads + hkv) * (d - half) + (long) hkv * d;
        if (total == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor c = tmp.packed(cos, DType.F32);
            Tensor s = tmp.packed(sin, DType.F32);
            String kernel = "rope_append_kv" + Checks.kvSuffix(keyCache);
            ctx.launch.of(ctx.kernels.function(MODULE, kernel), kernel)
                    .ptr(CudaContext.address(q)).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                    .ptr(CudaContext.address(c)).ptr(CudaContext.address(s)).ptr(CudaContext.address(keyCache))
                    .ptr(CudaContext.address(valueCache)).i32(heads).i32(hkv).i32(capacity).i32(d).i32(half)
                    .ptr(CudaContext.address(length))
                    .run(ctx.pointwiseBlocks(total), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * Checks {@link #ropeAppendKv}'s arguments (also those of the fused RoPE + append + attention,
     * {@link CudaDecodeAttention#runRope}); returns the rotary half R/2.
     */
    int ropeAppendHalf(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache, Tensor valueCache,
                       Tensor length, String op) {
        Checks.kvCache(keyCache, valueCache, ctx.device, op);
        int hkv = keyCache.dim(0);
        int d = keyCache.dim(2);
        Checks.f32(q, ctx.device, op, "q");
        Checks.f32(k, ctx.device, op, "k");
        Checks.f32(v, ctx.device, op, "v");
        if (q.rank() != 3 || q.dim(0) != 1 || q.dim(2) != d || !Checks.contiguous(q)) {
            throw new TensorException(op + ": q must be packed [1, Hq, " + d + "], got " + q);
        }
        int[] kvShape = {1, hkv, d};
        if (!java.util.Arrays.equals(k.shape(), kvShape) || !k.sameShape(v) || !Checks.contiguous(k) || !Checks.contiguous(v)) {
            throw new TensorException(op + ": k and v must be packed " + java.util.Arrays.toString(kvShape) + ", got " + k
                    + " and " + v);
        }
        Checks.f32(cos, ctx.device, op, "cos");
        Checks.f32(sin, ctx.device, op, "sin");
        Checks.rank(cos, 2, op, "cos", "[1, R/2]");
        int half = OpChecks.ropeTables(q, cos, sin);
        Checks.deviceCount(length, ctx.device, op, "length");
        return half;
    }

    /**
     * The RMSNorm prologue's arguments: x, gamma, its dtype, eps, and the threads and float4 per
     * thread of the rows.cu kernel {@link CudaPointwise#rmsNorm} takes for this width and gamma
     * (vectorised {@code rms_norm_rows_v4_<vpt>}, or the scalar {@code rms_norm_rows}: vpt 0), so
     * the kernel sums the squares in that kernel's order and stages the very same normed values.
     */
    private static Launch normArguments(Launch launch, Tensor x, Tensor gamma, float eps, int k) {
        int perThread = CudaPointwise.normV4PerThread(k);
        boolean vector = k % 4 == 0 && perThread > 0 && CudaContext.address(gamma) % (4L * gamma.dtype().byteSize()) == 0;
        return launch.ptr(CudaContext.address(x)).ptr(CudaContext.address(gamma)).i32(gamma.dtype().ordinal()).f32(eps)
                .i32(vector ? CudaPointwise.normV4Threads(k) : CudaPointwise.rowThreads(k)).i32(vector ? perThread : 0);
    }

    /** Checks x (F32 [.., k]) and gamma ([k]); returns k. */
    private int requireInput(Tensor x, Tensor gamma, String op) {
        Checks.f32(x, ctx.device, op, "x");
        if (x.rank() < 1) {
            throw new TensorException(op + ": x must be [.., k], got " + x);
        }
        int k = Checks.width(x);
        Checks.floating(gamma, ctx.device, op, "gamma");
        if (gamma.rank() != 1 || gamma.dim(0) != k) {
            throw new TensorException(op + ": gamma must have shape [" + k + "], got " + gamma);
        }
        return k;
    }

    private void requireLinear(Tensor x, Tensor w, Tensor bias, int k, String op) {
        Checks.floating(w, ctx.device, op, "w");
        Checks.rank(w, 2, op, "w", "[out, in]");
        if (w.dim(1) != k) {
            throw new TensorException(op + ": x " + x + " does not end in in_features " + w.dim(1) + " of w " + w);
        }
        if (bias != null) {
            Checks.floating(bias, ctx.device, op, "bias");
            if (bias.rank() != 1 || bias.dim(0) != w.dim(0)) {
                throw new TensorException(op + ": bias must be [" + w.dim(0) + "], got " + bias);
            }
        }
    }

    private static void requireDisjoint(Tensor x, Tensor out, String op) {
        if (overlaps(x, out)) {
            throw new TensorException(op + ": out " + out + " overlaps the input x " + x + "; the kernel reads x while writing out");
        }
    }

    /** True when the byte ranges of two packed tensors intersect. */
    private static boolean overlaps(Tensor a, Tensor b) {
        if (a.numel() == 0 || b.numel() == 0) {
            return false;
        }
        long a0 = CudaContext.address(a);
        long b0 = CudaContext.address(b);
        return a0 < b0 + b.numel() * b.dtype().byteSize() && b0 < a0 + a.numel() * a.dtype().byteSize();
    }

    /** The norm prologue's conditions: a packed, 16-byte aligned x of at most 8 rows that fits in shared memory. */
    private boolean normFits(Tensor x, int rows, int k) {
        return rows <= CudaGemm.GEMV_MAX_ROWS && k > 0 && Checks.contiguous(x) && CudaContext.address(x) % 16 == 0
                && (long) rows * k * Float.BYTES <= ctx.kernels.maxDynamicSharedBytes();
    }

    /** x's shape with the last dim n. */
    private static int[] outShape(Tensor x, int n) {
        int[] shape = x.shape();
        shape[shape.length - 1] = n;
        return shape;
    }

    /** The element distance between rows of w [n, k] (k for a single row). */
    private static long leading(Tensor w) {
        return w.dim(0) == 1 ? w.dim(1) : w.stride(0);
    }

    /** The k split of rms_norm_linear over weights of {@code n} rows each (0: absent). */
    private int normLinearsSplit(int k, int[] n) {
        return split(s -> {
            long groups = 0;
            for (int value : n) {
                groups += groups(value, ROWS_PER_WARP, s);
            }
            return groups;
        }, k / 8);
    }

    /** How rms_norm_linear runs for {@code rows} rows of k over weights of {@code n} rows each (0: absent). */
    GemvLaunch normLinearsPlan(int rows, int k, int[] n) {
        int split = normLinearsSplit(k, n);
        long groups = 0;
        for (int value : n) {
            groups += groups(value, ROWS_PER_WARP, split);
        }
        return plan(rows == 1 ? "rms_norm_linear_1" : "rms_norm_linear", split, rows * k * Float.BYTES, groups,
                blockWeightBytes(k, split), true);
    }

    /** The k split of a GEMV over n weight rows at 4 features per warp (gate/up: the separate gate and up GEMVs' split, so each sum is theirs). */
    private int rowsSplit(int n, int k) {
        return split(s -> groups(n, ROWS_PER_WARP, s), k / 8);
    }

    /** How rms_norm_gated_mlp_in runs for {@code rows} rows of k and gate/up weights of n rows. */
    GemvLaunch gatedMlpInPlan(int rows, int n, int k) {
        int split = rowsSplit(n, k);
        return plan(rows == 1 ? "rms_norm_gated_mlp_in_1" : "rms_norm_gated_mlp_in", split, rows * k * Float.BYTES,
                groups(n, PAIRS_PER_WARP, split), blockWeightBytes(k, split), true);
    }

    /** How linear_add_residual runs for {@code rows} rows of k and a weight of n rows (one block per group, no grid stride). */
    GemvLaunch linearResidualPlan(int rows, int n, int k) {
        int split = rowsSplit(n, k);
        return plan(rows == 1 ? "linear_add_residual_1" : "linear_add_residual", split, 0,
                groups(n, ROWS_PER_WARP, split), blockWeightBytes(k, split), false);
    }

    /**
     * One fused GEMV launch: the kernel ({@code name}, or its {@code _staged} build), its k split, the blocks,
     * the dynamic shared bytes, and the groups per block whose weights are staged (0: the unstaged kernel).
     */
    record GemvLaunch(String name, CUfunc_st function, int split, long blocks, int shared, int staged, boolean early) {

        /** The staged kernel's two extra arguments (staged groups per block, early); none for the unstaged one. */
        Launch stagingArguments(Launch launch) {
            return staged == 0 ? launch : launch.i32(staged).i32(early ? 1 : 0);
        }
    }

    /**
     * How kernel {@code name} runs {@code groups} block groups of {@code groupBytes} weight bytes each, with
     * {@code baseShared} dynamic shared bytes of its own (x's rows): under {@link WeightStaging#configured}
     * other than off, with programmatic dependent launch in use (sm_90+, {@code glimpse.cuda.pdl} on: only
     * then do the copies overlap the previous kernel), the staged kernel where every block's groups fit
     * {@link #STAGE_BYTES} and every block is resident at once; else the unstaged kernel, as before. {@code gridStride}: the kernel walks groups
     * {@code blockIdx.x, blockIdx.x + gridDim.x, ..} (as many blocks as are resident); else one group per block.
     */
    private GemvLaunch plan(String name, int split, int baseShared, long groups, long groupBytes, boolean gridStride) {
        WeightStaging mode = WeightStaging.configured();
        // Staging pays off only where the copies overlap the previous kernel, i.e. under PDL.
        if (groups > 0 && mode != WeightStaging.OFF && ctx.launch.dependentLaunches() && GridDependency.enabled()) {
            String stagedName = name + "_staged";
            CUfunc_st staged = ctx.kernels.largeSharedFunction(MODULE, stagedName);
            int limit = Math.min(STAGE_BYTES, ctx.kernels.maxDynamicSharedBytes());
            // Groups per block: more blocks fit with less shared memory each, so settle in a few steps.
            int perBlock = 1;
            for (int round = 0; round < 4; round++) {
                long shared = baseShared + perBlock * groupBytes;
                if (shared > limit) {
                    break;
                }
                long resident = (long) gemm.residentBlocks(stagedName, staged, (int) shared) * ctx.multiprocessors;
                long blocks = gridStride ? Math.min(groups, resident) : groups;
                if (blocks > resident) {
                    break;
                }
                int need = (int) ((groups + blocks - 1) / blocks);
                if (need <= perBlock) {
                    return new GemvLaunch(stagedName, staged, split, blocks, (int) (baseShared + need * groupBytes), need,
                            mode == WeightStaging.EARLY);
                }
                perBlock = need;
            }
        }
        if (!gridStride) {
            return new GemvLaunch(name, ctx.kernels.function(MODULE, name), split, groups, baseShared, 0, false);
        }
        CUfunc_st function = ctx.kernels.largeSharedFunction(MODULE, name);
        long blocks = Math.min(groups, (long) gemm.residentBlocks(name, function, baseShared) * ctx.multiprocessors);
        return new GemvLaunch(name, function, split, blocks, baseShared, 0, false);
    }

    /** Weight bytes of one block group: 8 / split warp groups of 4 rows of k 16-bit weights. */
    private static long blockWeightBytes(int k, int split) {
        return (long) (THREADS / 32 / split) * ROWS_PER_WARP * k * 2;
    }

    /** Blocks of {@code features}-per-warp groups, 8 / split groups per block, covering n outputs. */
    private static long groups(int n, int features, int split) {
        long perBlock = (long) features * (THREADS / 32 / split);
        return (n + perBlock - 1) / perBlock;
    }

    /** The k split, as CudaGemm's multi-feature GEMV picks it: doubled while the grid is short and each warp keeps 32+ chunks. */
    private int split(java.util.function.IntToLongFunction groupsAt, int chunks) {
        int split = 1;
        while (split < 8 && groupsAt.applyAsLong(split) < (long) ctx.multiprocessors * BLOCKS_PER_SM && chunks >= split * 2 * 32) {
            split *= 2;
        }
        return split;
    }
}
