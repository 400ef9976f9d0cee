package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.cudart.CUfunc_st;

import java.util.Arrays;

/**
 * Elementwise ops and activations (elementwise.cu) and the per-row ops (rows.cu; norm_rows.cu's norm
 * variants): softmax, LayerNorm, RMSNorm, L2 norm, RoPE (alone or with a prefill block's KV cache append), argmax.
 * Inputs that are not packed are first copied to packed scratch on the device; outputs are packed,
 * as the Backend contract requires. LayerNorm, RMSNorm, activation and gatedActivation may write
 * F16/BF16 (F32 math, rounded to nearest even on store) for GEMM inputs of 16-bit weights. Argmax of rows of {@value #ARGMAX_TWO_PASS_MIN} or
 * more elements runs in two passes (decode_fused.cu) with the same answer.
 */
final class CudaPointwise {

    /** Row length from which argmax takes the two-pass kernels (one block per row is latency-bound beyond it). */
    static final int ARGMAX_TWO_PASS_MIN = 32768;
    /** The most rows the two-pass argmax takes (its first pass puts rows on the grid's y dimension). */
    private static final int MAX_GRID_Y = 65535;
    /** Rotated heads per work item of {@code rope_append_kv_rows_vec*} (its HPT). */
    private static final int ROPE_APPEND_VECTOR_HEADS = 4;
    /** Resident 256-thread blocks per SM the grid-stride {@code rope_append_kv_rows_vec*} grid is sized to. */
    private static final int ROPE_APPEND_VECTOR_BLOCKS_PER_SM = 8;
    /** Elements each first-pass argmax block scans (8 per thread). */
    private static final int ARGMAX_SPAN = 2048;
    /** Threads per argmax block (ARGMAX_THREADS in decode_fused.cu). */
    private static final int ARGMAX_THREADS = 256;

    private final CudaContext ctx;
    private final CudaCopy copier;

    CudaPointwise(CudaContext ctx, CudaCopy copier) {
        this.ctx = ctx;
        this.copier = copier;
    }

    /** op 0: out = a + b; op 1: out = a * b; b is a's shape or a suffix of it. */
    void binary(Tensor a, Tensor b, Tensor out, int op, String name) {
        Checks.f32(a, ctx.device, name, "a");
        Checks.floating(b, ctx.device, name, "b");
        int[] as = a.shape();
        int[] bs = b.shape();
        boolean suffix = bs.length >= 1 && bs.length <= as.length
                && Arrays.equals(bs, Arrays.copyOfRange(as, as.length - bs.length, as.length));
        if (!suffix) {
            throw new TensorException(name + ": b must have a's shape " + Arrays.toString(as)
                    + " or a suffix of it (rank >= 1; use scale for a scalar), got " + b);
        }
        Checks.out(out, as, ctx.device, name);
        long n = a.numel();
        if (n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor ap = tmp.packed(a, DType.F32);
            Tensor bp = tmp.packed(b, null);
            ctx.launch.of(ctx.kernels.function("elementwise", "binary_broadcast"), "binary_broadcast")
                    .ptr(CudaContext.address(ap)).ptr(CudaContext.address(bp)).i32(bp.dtype().ordinal())
                    .ptr(CudaContext.address(out)).i64(n).i64(Math.max(1, b.numel())).i32(op)
                    .run(ctx.pointwiseBlocks(n), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    void scale(Tensor a, float s, Tensor out) {
        Checks.f32(a, ctx.device, "scale", "a");
        Checks.out(out, a.shape(), ctx.device, "scale");
        long n = a.numel();
        if (n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor ap = tmp.packed(a, DType.F32);
            ctx.launch.of(ctx.kernels.function("elementwise", "scale_f32"), "scale_f32")
                    .ptr(CudaContext.address(ap)).f32(s).ptr(CudaContext.address(out)).i64(n)
                    .run(ctx.pointwiseBlocks(n), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * {@code out = f(x)}. Under {@code -Dglimpse.cuda.towerLean=true} ({@link CudaBackend#towerLeanEnabled}),
     * with a size that is a multiple of 4 and aligned operands, {@code activation_f32_v4} (four elements
     * per thread, one float4 load and one vector store) writes the same values as the scalar kernel.
     */
    void activation(Activation f, Tensor x, Tensor out) {
        requireActivation(f);
        Checks.f32(x, ctx.device, "activation", "x");
        Checks.floatOut(out, x.shape(), ctx.device, "activation");
        long n = x.numel();
        if (n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.packed(x, DType.F32);
            boolean vector = CudaBackend.towerLeanEnabled() && n % 4 == 0 && CudaContext.address(xp) % 16 == 0
                    && CudaContext.address(out) % (4L * out.dtype().byteSize()) == 0;
            String kernel = vector ? "activation_f32_v4" : "activation_f32";
            long items = vector ? n / 4 : n;
            ctx.launch.of(ctx.kernels.function("elementwise", kernel), kernel)
                    .ptr(CudaContext.address(xp)).ptr(CudaContext.address(out)).i32(out.dtype().ordinal()).i64(items)
                    .i32(f.ordinal())
                    .run(ctx.pointwiseBlocks(items), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * Whether {@link #activationInPlace} takes {@code t}: packed F16/BF16 on this device, a multiple of 8
     * elements (at least 8), 16-byte aligned.
     */
    boolean activationInPlaceFits(Tensor t) {
        return (t.dtype() == DType.BF16 || t.dtype() == DType.F16) && t.device().equals(ctx.device)
                && Checks.contiguous(t) && t.numel() > 0 && t.numel() % 8 == 0 && CudaContext.address(t) % 16 == 0;
    }

    /**
     * {@code t = f(t)} on packed 16-bit values ({@link #activationInPlaceFits}): {@code activation_bf16_v8}
     * / {@code activation_f16_v8} (elementwise.cu), eight values per thread with one 16-byte load and store,
     * each widened exactly, activated in F32 and rounded to nearest even once: the bits {@link #activation}
     * stores from the widened values into a 16-bit out.
     */
    void activationInPlace(Activation f, Tensor t) {
        requireActivation(f);
        if (!activationInPlaceFits(t)) {
            throw new TensorException("activation in place: t must be packed F16/BF16 on " + ctx.device
                    + ", a multiple of 8 elements, 16-byte aligned, got " + t);
        }
        String kernel = t.dtype() == DType.BF16 ? "activation_bf16_v8" : "activation_f16_v8";
        long items = t.numel() / 8;
        long address = CudaContext.address(t);
        ctx.launch.of(ctx.kernels.function("elementwise", kernel), kernel)
                .ptr(address).ptr(address).i64(items).i32(f.ordinal())
                .run(ctx.pointwiseBlocks(items), 1, CudaContext.POINTWISE_THREADS, 0);
    }

    /**
     * {@code out = f(gate) * up}. With {@code -Dglimpse.cuda.prefillFusion=true}, sizes that are a
     * multiple of 4 and aligned operands, {@code gated_activation_f32_v4} (four elements per thread,
     * vector loads and stores) writes the same values as the scalar kernel.
     */
    void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out) {
        requireActivation(f);
        Checks.f32(gate, ctx.device, "gatedActivation", "gate");
        Checks.f32(up, ctx.device, "gatedActivation", "up");
        if (!gate.sameShape(up)) {
            throw new TensorException("gatedActivation: gate and up must have the same shape, got " + gate + " and " + up);
        }
        Checks.floatOut(out, gate.shape(), ctx.device, "gatedActivation");
        long n = gate.numel();
        if (n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor g = tmp.packed(gate, DType.F32);
            Tensor u = tmp.packed(up, DType.F32);
            boolean vector = CudaBackend.prefillFusionEnabled() && n % 4 == 0 && CudaContext.address(g) % 16 == 0
                    && CudaContext.address(u) % 16 == 0 && CudaContext.address(out) % (4L * out.dtype().byteSize()) == 0;
            String kernel = vector ? "gated_activation_f32_v4" : "gated_activation_f32";
            long items = vector ? n / 4 : n;
            ctx.launch.of(ctx.kernels.function("elementwise", kernel), kernel)
                    .ptr(CudaContext.address(g)).ptr(CudaContext.address(u)).ptr(CudaContext.address(out)).i32(out.dtype().ordinal())
                    .i64(items).i32(f.ordinal())
                    .run(ctx.pointwiseBlocks(items), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * {@code out = T(T(f(gate)) * up)} for gate, up and out of one 16-bit dtype T (F16/BF16), one shape,
     * packed: HF's {@code act_fn(gate_proj(x)) * up_proj(x)} in the model dtype, f of the exactly widened
     * gate in F32 rounded to T, times the widened up in F32, rounded to T ({@code gated_activation_<t>_v4} /
     * {@code _v8} of elementwise.cu: four or eight values per thread as {@link Mlp16Vector} picks, 8- or
     * 16-byte loads and stores where all three operands are aligned to them; any size). out may be gate or up.
     */
    void gatedActivationRounded(Activation f, Tensor gate, Tensor up, Tensor out) {
        requireActivation(f);
        DType type = gate.dtype();
        if (type != DType.BF16 && type != DType.F16) {
            throw new TensorException("gatedActivationRounded: gate must be F16 or BF16, got " + gate);
        }
        for (Tensor t : new Tensor[] {gate, up, out}) {
            if (t.dtype() != type || !t.sameShape(gate) || !t.device().equals(ctx.device) || !Checks.contiguous(t)) {
                throw new TensorException("gatedActivationRounded: gate, up and out must be packed " + type + " "
                        + Arrays.toString(gate.shape()) + " on " + ctx.device + ", got " + gate + ", " + up
                        + " and " + out);
            }
        }
        long n = gate.numel();
        if (n == 0) {
            return;
        }
        int perThread = Mlp16Vector.configured().valuesPerThread(n);
        long bytes = 2L * perThread;
        boolean vector = CudaContext.address(gate) % bytes == 0 && CudaContext.address(up) % bytes == 0
                && CudaContext.address(out) % bytes == 0;
        String kernel = "gated_activation_" + (type == DType.BF16 ? "bf16" : "f16") + "_v" + perThread;
        long groups = (n + perThread - 1) / perThread;
        ctx.launch.of(ctx.kernels.function("elementwise", kernel), kernel)
                .ptr(CudaContext.address(gate)).ptr(CudaContext.address(up)).ptr(CudaContext.address(out)).i64(n)
                .i32(vector ? 1 : 0).i32(f.ordinal())
                .run(ctx.pointwiseBlocks(groups), 1, CudaContext.POINTWISE_THREADS, 0);
    }

    void softmax(Tensor x, Tensor out) {
        Checks.f32(x, ctx.device, "softmax", "x");
        Checks.out(out, x.shape(), ctx.device, "softmax");
        rowKernel(x, "softmax_rows", (launch, xp, n) -> launch.ptr(CudaContext.address(xp)).ptr(CudaContext.address(out)).i32(n));
    }

    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        Checks.f32(x, ctx.device, "layerNorm", "x");
        Checks.floatOut(out, x.shape(), ctx.device, "layerNorm");
        int n = Checks.width(x);
        requireVector(gamma, n, "layerNorm", "gamma");
        if (beta != null) {
            requireVector(beta, n, "layerNorm", "beta");
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor g = tmp.packed(gamma, null);
            Tensor b = beta == null ? null : tmp.packed(beta, null);
            normRows(x, "layer_norm_rows", (launch, xp, width) -> launch.ptr(CudaContext.address(xp))
                    .ptr(CudaContext.address(g)).i32(g.dtype().ordinal())
                    .ptr(b == null ? 0L : CudaContext.address(b)).i32(b == null ? 0 : b.dtype().ordinal())
                    .f32(eps).ptr(CudaContext.address(out)).i32(out.dtype().ordinal()).i32(width), out, g, b);
        }
    }

    /**
     * {@link dev.glimpse.kernels.Backend#layerNormTokenMajor}: {@code layer_norm_rows[_v4_<VPT>]_token_major}
     * of rows.cu (or the {@link NormRowsVariant}'s {@code layer_norm_rows_<variant>_<VPT>_token_major} of
     * norm_rows.cu), the kernels of {@link #layerNorm} with each image-major row b * tokens + t stored as
     * token-major row t * batch + b (the same variant choice, so the same values row for row).
     */
    void layerNormTokenMajor(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        Checks.f32(x, ctx.device, "layerNormTokenMajor", "x");
        Checks.rank(x, 3, "layerNormTokenMajor", "x", "[batch, tokens, n]");
        int batch = x.dim(0);
        int tokens = x.dim(1);
        int n = x.dim(2);
        Checks.floatOut(out, new int[] {tokens, batch, n}, ctx.device, "layerNormTokenMajor");
        requireVector(gamma, n, "layerNormTokenMajor", "gamma");
        if (beta != null) {
            requireVector(beta, n, "layerNormTokenMajor", "beta");
        }
        int rows = batch * tokens;
        if (rows == 0 || n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.packed(x, DType.F32);
            Tensor g = tmp.packed(gamma, null);
            Tensor b = beta == null ? null : tmp.packed(beta, null);
            boolean aligned = n % 4 == 0 && CudaContext.address(xp) % 16 == 0;
            for (Tensor v : new Tensor[] {out, g, b}) {
                aligned &= v == null || CudaContext.address(v) % (4L * v.dtype().byteSize()) == 0;
            }
            int perThread = aligned ? normV4PerThread(n) : 0;
            int threads = perThread > 0 ? normV4Threads(n) : rowThreads(n);
            NormKernel kernel = perThread > 0
                    ? normKernel("layer_norm_rows", "_token_major", perThread, rows, g, b)
                    : new NormKernel("layer_norm_rows_token_major",
                            ctx.kernels.function("rows", "layer_norm_rows_token_major"), 0);
            ctx.launch.of(kernel.function(), kernel.name()).ptr(CudaContext.address(xp))
                    .ptr(CudaContext.address(g)).i32(g.dtype().ordinal())
                    .ptr(b == null ? 0L : CudaContext.address(b)).i32(b == null ? 0 : b.dtype().ordinal())
                    .f32(eps).ptr(CudaContext.address(out)).i32(out.dtype().ordinal()).i32(n).i32(batch).i32(tokens)
                    .run(rows, 1, threads, kernel.sharedBytes());
        }
    }

    void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        Checks.f32(x, ctx.device, "rmsNorm", "x");
        Checks.floatOut(out, x.shape(), ctx.device, "rmsNorm");
        requireVector(gamma, Checks.width(x), "rmsNorm", "gamma");
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor g = tmp.packed(gamma, null);
            normRows(x, "rms_norm_rows", (launch, xp, width) -> launch.ptr(CudaContext.address(xp))
                    .ptr(CudaContext.address(g)).i32(g.dtype().ordinal()).f32(eps).ptr(CudaContext.address(out))
                    .i32(out.dtype().ordinal()).i32(width), out, g, null);
        }
    }

    void l2Norm(Tensor x, Tensor out) {
        Checks.f32(x, ctx.device, "l2Norm", "x");
        int[] shape = x.shape();
        int[] reduced = Arrays.copyOf(shape, Math.max(0, shape.length - 1));
        int[] kept = shape.clone();
        if (kept.length > 0) {
            kept[kept.length - 1] = 1;
        }
        Checks.f32(out, ctx.device, "l2Norm", "out");
        if (!Checks.contiguous(out) || !(Arrays.equals(out.shape(), reduced) || Arrays.equals(out.shape(), kept))) {
            throw new TensorException("l2Norm: out must be contiguous with shape " + Arrays.toString(reduced)
                    + " or " + Arrays.toString(kept) + ", got " + out);
        }
        rowKernel(x, "l2_norm_rows", (launch, xp, n) -> launch.ptr(CudaContext.address(xp)).ptr(CudaContext.address(out)).i32(n));
    }

    void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        Checks.f32(x, ctx.device, "rope", "x");
        Checks.rank(x, 3, "rope", "x", "[T, H, D]");
        Checks.f32(cos, ctx.device, "rope", "cos");
        Checks.f32(sin, ctx.device, "rope", "sin");
        Checks.rank(cos, 2, "rope", "cos", "[T, R/2]");
        int t = x.dim(0);
        int heads = x.dim(1);
        int d = x.dim(2);
        int half = OpChecks.ropeTables(x, cos, sin);
        Checks.out(out, x.shape(), ctx.device, "rope");
        long total = (long) t * heads * (d - half);
        if (total == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.packed(x, DType.F32);
            Tensor c = tmp.packed(cos, DType.F32);
            Tensor s = tmp.packed(sin, DType.F32);
            ctx.launch.of(ctx.kernels.function("rows", "rope_f32"), "rope_f32")
                    .ptr(CudaContext.address(xp)).ptr(CudaContext.address(c)).ptr(CudaContext.address(s))
                    .ptr(CudaContext.address(out)).i32(t).i32(heads).i32(d).i32(half)
                    .run(ctx.pointwiseBlocks(total), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * A prefill block's RoPE and KV cache append (rows.cu {@code rope_append_kv_rows[_bf16|_f16]}):
     * equals {@link #rope} on q and on k in place followed by copies of k and v into entries
     * {@code start .. start + T} of the caches (rounded to nearest even when 16-bit), except that k
     * itself is not rotated. q [T, Hq, D], k, v [T, Hkv, D] packed F32; cos, sin [T, R/2]; caches
     * [Hkv, capacity, D] packed, F32, BF16 or F16.
     */
    void ropeAppendKvRows(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache, Tensor valueCache,
                          int start) {
        String op = "ropeAppendKvRows";
        Checks.RopeAppendShape shape = Checks.ropeAppend(q, k, v, cos, sin, keyCache, valueCache, start, ctx.device, op);
        if (!Checks.contiguous(q) || !Checks.contiguous(k) || !Checks.contiguous(v)) {
            throw new TensorException(op + ": q, k and v must be packed, got " + q + ", " + k + " and " + v);
        }
        int t = shape.t();
        int hkv = shape.hkv();
        int capacity = shape.capacity();
        int d = shape.d();
        int half = shape.half();
        int heads = shape.hq();
        long perToken = (long) (heads + hkv) * (d - half) + (long) hkv * d;
        if (perToken > Integer.MAX_VALUE) {
            throw new TensorException(op + ": " + perToken + " items per token (heads " + heads + " + " + hkv + ", D " + d
                    + ") exceed the kernel's int index");
        }
        if (t == 0 || perToken == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor c = tmp.packed(cos, DType.F32);
            Tensor s = tmp.packed(sin, DType.F32);
            long vectorItems = CudaBackend.ropeAppendVectorEnabled()
                    ? ropeAppendVectorItems(q, k, v, c, s, keyCache, valueCache, heads, hkv, d, half) * t : 0L;
            boolean vector = vectorItems > 0 && vectorItems <= Integer.MAX_VALUE;
            String kernel = "rope_append_kv_rows" + (vector ? "_vec" : "") + Checks.kvSuffix(keyCache);
            int gridX = vector
                    ? (int) Math.min((vectorItems + CudaContext.POINTWISE_THREADS - 1) / CudaContext.POINTWISE_THREADS,
                            (long) ctx.multiprocessors * ROPE_APPEND_VECTOR_BLOCKS_PER_SM)
                    : (int) ((perToken + CudaContext.POINTWISE_THREADS - 1) / CudaContext.POINTWISE_THREADS);
            ctx.launch.of(ctx.kernels.function("rows", kernel), kernel)
                    .ptr(CudaContext.address(q)).ptr(CudaContext.address(k)).ptr(CudaContext.address(v))
                    .ptr(CudaContext.address(c)).ptr(CudaContext.address(s)).ptr(CudaContext.address(keyCache))
                    .ptr(CudaContext.address(valueCache)).i32(t).i32(heads).i32(hkv).i32(capacity).i32(d).i32(half)
                    .i32(start)
                    .run(gridX, vector ? 1 : Math.min(t, MAX_GRID_Y), CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * Work items per token of {@code rope_append_kv_rows_vec[_bf16|_f16]} (rows.cu: rotation items of
     * 4 pairs over {@value #ROPE_APPEND_VECTOR_HEADS} heads, value items of 8 values), or 0 where that
     * kernel does not apply: a pass-through part of the head dim ({@code d != 2 * half}), {@code half}
     * not a multiple of 4, or an operand not 16-byte aligned.
     */
    private static long ropeAppendVectorItems(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache,
                                              Tensor valueCache, int heads, int hkv, int d, int half) {
        long addresses = CudaContext.address(q) | CudaContext.address(k) | CudaContext.address(v)
                | CudaContext.address(cos) | CudaContext.address(sin) | CudaContext.address(keyCache)
                | CudaContext.address(valueCache);
        if (d != 2 * half || half % 4 != 0 || addresses % 16 != 0) {
            return 0L;
        }
        long rotationItems = (heads + hkv + ROPE_APPEND_VECTOR_HEADS - 1L) / ROPE_APPEND_VECTOR_HEADS * (half / 4);
        return rotationItems + (long) hkv * d / 8;
    }

    int[] argmax(Tensor x) {
        Checks.floating(x, ctx.device, "argmax", "x");
        if (x.rank() != 1 && x.rank() != 2) {
            throw new TensorException("argmax: x must be [rows, n] (or [n]), got " + x);
        }
        int n = Checks.width(x);
        int rows = Checks.rows(x);
        if (n == 0 && rows > 0) {
            throw new TensorException("argmax: rows of x are empty (n = 0); there is no largest value in " + x);
        }
        if (rows == 0) {
            return new int[0];
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.rowsPacked(x, null);
            long rowStride = xp.rank() == 1 || xp.dim(0) == 1 ? n : xp.stride(0);
            Tensor out = tmp.scratch(DType.I32, rows);
            if (n >= ARGMAX_TWO_PASS_MIN && rows <= MAX_GRID_Y) {
                argmaxTwoPass(tmp, xp, rowStride, rows, n, out);
            } else {
                ctx.launch.of(ctx.kernels.function("rows", "argmax_rows"), "argmax_rows")
                        .ptr(CudaContext.address(xp)).i32(xp.dtype().ordinal()).i64(rowStride).ptr(CudaContext.address(out))
                        .i32(n).run(rows, 1, rowThreads(n), 0);
            }
            return copier.downloadInts(out);
        }
    }

    /**
     * Argmax of long rows (a vocabulary of logits) in two passes of decode_fused.cu: blocks of
     * {@value #ARGMAX_SPAN} elements each pick a candidate, then one block per row picks among
     * them, with argmax_rows' tie rule (NaN first, then larger, then lower index), so the answer
     * is the one-block kernel's.
     */
    private void argmaxTwoPass(Temporaries tmp, Tensor xp, long rowStride, int rows, int n, Tensor out) {
        int blocks = argmaxBlocks(n);
        argmaxTwoPass(xp, rowStride, rows, n, tmp.scratch(DType.F32, rows, blocks), tmp.scratch(DType.I32, rows, blocks),
                out);
    }

    /** Candidates per row of the two-pass argmax over rows of {@code n}: the size of its first pass's outputs. */
    static int argmaxBlocks(int n) {
        return (n + ARGMAX_SPAN - 1) / ARGMAX_SPAN;
    }

    /**
     * The two-pass argmax of {@code rows} rows of {@code n} into {@code out} (device I32 [rows]), with
     * candidate buffers of the caller's (F32 and I32 [rows, {@link #argmaxBlocks}]); waits on nothing.
     */
    void argmaxTwoPass(Tensor xp, long rowStride, int rows, int n, Tensor candValues, Tensor candIndices, Tensor out) {
        int blocks = argmaxBlocks(n);
        ctx.launch.of(ctx.kernels.function(CudaFusedDecode.MODULE, "argmax_partial"), "argmax_partial")
                .ptr(CudaContext.address(xp)).i32(xp.dtype().ordinal()).i64(rowStride).i32(n).i32(ARGMAX_SPAN)
                .ptr(CudaContext.address(candValues)).ptr(CudaContext.address(candIndices))
                .run(blocks, rows, ARGMAX_THREADS, 0);
        ctx.launch.of(ctx.kernels.function(CudaFusedDecode.MODULE, "argmax_final"), "argmax_final")
                .ptr(CudaContext.address(candValues)).ptr(CudaContext.address(candIndices)).i32(blocks)
                .ptr(CudaContext.address(out))
                .run(rows, 1, ARGMAX_THREADS, 0);
    }

    /** Arguments of a row kernel after its packed input; the launch appends the rest. */
    @FunctionalInterface
    private interface RowArgs {
        Launch apply(Launch launch, Tensor packedInput, int width);
    }

    private void rowKernel(Tensor x, String kernel, RowArgs args) {
        int n = Checks.width(x);
        int rows = Checks.rows(x);
        if (rows == 0 || n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.packed(x, DType.F32);
            args.apply(ctx.launch.of(ctx.kernels.function("rows", kernel), kernel), xp, n).run(rows, 1, rowThreads(n), 0);
        }
    }

    /**
     * A LayerNorm/RMSNorm row kernel, one block per row of x (packed to F32 first when it is not): the
     * vectorised form ({@link #normKernel}: rows.cu's {@code <kernel>_v4_<VPT>}, or the
     * {@code -Dglimpse.cuda.normRows} variant's of norm_rows.cu; each thread holds VPT float4 of the row in
     * registers) when the width is a multiple of 4 of at most {@value #NORM_V4_MAX_WIDTH} and x, out, gamma and
     * beta (when given) are 4-element aligned; otherwise the scalar {@code kernel}.
     */
    private void normRows(Tensor x, String kernel, RowArgs args, Tensor out, Tensor gamma, Tensor beta) {
        int n = Checks.width(x);
        int rows = Checks.rows(x);
        if (rows == 0 || n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xp = tmp.packed(x, DType.F32);
            boolean aligned = n % 4 == 0 && CudaContext.address(xp) % 16 == 0;
            for (Tensor v : new Tensor[] {out, gamma, beta}) {
                aligned &= v == null || CudaContext.address(v) % (4L * v.dtype().byteSize()) == 0;
            }
            int perThread = aligned ? normV4PerThread(n) : 0;
            if (perThread == 0) {
                args.apply(ctx.launch.of(ctx.kernels.function("rows", kernel), kernel), xp, n)
                        .run(rows, 1, rowThreads(n), 0);
                return;
            }
            int threads = normV4Threads(n);
            NormKernel chosen = normKernel(kernel, "", perThread, rows, gamma, beta);
            args.apply(ctx.launch.of(chosen.function(), chosen.name()), xp, n).run(rows, 1, threads, chosen.sharedBytes());
        }
    }

    /** A vectorised norm kernel to launch: its name, its function, its dynamic shared bytes. */
    private record NormKernel(String name, CUfunc_st function, int sharedBytes) {
    }

    /**
     * The vectorised kernel of {@code norm} ({@code <norm><infix><perThread><suffix>}) for {@code rows} rows of
     * gamma's width: the family {@code -Dglimpse.cuda.normRows} picks ({@link NormRowsVariant#resolve}); the staged
     * kernels get gamma's and beta's copies as dynamic shared memory ({@link #stagedBytes}).
     */
    private NormKernel normKernel(String norm, String suffix, int perThread, int rows, Tensor gamma, Tensor beta) {
        NormRowsVariant variant = NormRowsVariant.configured().resolve(norm, rows);
        String name = variant.kernel(norm, perThread) + suffix;
        if (variant != NormRowsVariant.STAGED) {
            return new NormKernel(name, ctx.kernels.function(variant.module(), name), 0);
        }
        return new NormKernel(name, ctx.kernels.largeSharedFunction(variant.module(), name), stagedBytes(gamma, beta));
    }

    /**
     * Dynamic shared bytes of the staged norm kernels (norm_rows.cu {@code staged_gamma_bytes}): gamma's values
     * in its type rounded up to 16 bytes, then beta's (when given); 64 KiB at most (8192 F32 values of each).
     */
    static int stagedBytes(Tensor gamma, Tensor beta) {
        int gammaBytes = (int) ((gamma.numel() * gamma.dtype().byteSize() + 15) & ~15L);
        return gammaBytes + (beta == null ? 0 : (int) (beta.numel() * beta.dtype().byteSize()));
    }

    /** Widest row the vectorised norm kernels take (8 float4 per thread of 256). */
    static final int NORM_V4_MAX_WIDTH = 8 * 4 * 256;

    /** Threads per row of the vectorised norm kernels. */
    static int normV4Threads(int n) {
        return n >= 1024 ? 256 : 128;
    }

    /** float4 per thread (1, 2, 4 or 8) of the vectorised norm kernel for width n, or 0 when n is too wide. */
    static int normV4PerThread(int n) {
        int needed = (n / 4 + normV4Threads(n) - 1) / normV4Threads(n);
        int vpt = 1;
        while (vpt < needed) {
            vpt *= 2;
        }
        return vpt <= 8 ? vpt : 0;
    }

    /** Threads per row: a multiple of 32, more for longer rows. */
    static int rowThreads(int n) {
        if (n >= 4096) {
            return 1024;
        }
        if (n >= 1024) {
            return 256;
        }
        return 128;
    }

    private void requireVector(Tensor t, int length, String op, String name) {
        Checks.floating(t, ctx.device, op, name);
        if (t.rank() != 1 || t.dim(0) != length) {
            throw new TensorException(op + ": " + name + " must have shape [" + length + "], got " + t);
        }
    }

    private static void requireActivation(Activation f) {
        if (f == null) {
            throw new TensorException("activation: the activation function must not be null");
        }
    }
}
