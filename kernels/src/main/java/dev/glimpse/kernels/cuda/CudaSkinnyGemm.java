package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Linear layers with F16/BF16 weights and 9..{@value SkinnyGemmPlan#MAX_ROWS} rows of x on the
 * skinny tensor-core kernels of {@code gemm_skinny.cu}: the same product as {@link CudaGemm}'s
 * cuBLASLt path (x in the weights' dtype, 16-bit products on tensor cores, F32 sums, F32 out, F32
 * bias added last), built like the decode GEMV so the weights stream from HBM at GEMV speed where
 * cuBLASLt's tiles leave bandwidth unused. {@link SkinnyGemmPlan} sizes the grid and the k split;
 * a split product sums its partials in a fixed order ({@code gemm_skinny_reduce}), so every run
 * gives the same bits.
 *
 * <p>Needs k % 8 == 0, weight rows 16-byte aligned ({@link #supports}) and x of the weights'
 * dtype with rows 16-byte aligned at a leading dimension that is a multiple of 8 (the caller
 * rounds or copies x to get there).
 */
final class CudaSkinnyGemm {

    private static final Logger LOG = LoggerFactory.getLogger(CudaSkinnyGemm.class);

    private static final String MODULE = "gemm_skinny";

    private final CudaContext ctx;
    private final Map<String, Integer> residentBlocks = new HashMap<>();
    private final Set<String> logged = new HashSet<>();

    CudaSkinnyGemm(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** Whether the kernels can read w: k a multiple of 8, rows at a leading dimension that is a multiple of 8, 16-byte aligned. */
    static boolean supports(Tensor w, long ldw, int k) {
        return k > 0 && k % 8 == 0 && ldw % 8 == 0 && CudaContext.address(w) % 16 == 0;
    }

    /**
     * out [m, n] = x [m, k] w^T (+ bias), x of w's dtype at device address {@code x}, rows {@code ldx}
     * elements apart (a multiple of 8, 16-byte aligned); w [n, k] rows {@code ldw} apart
     * ({@link #supports}); bias null or [n] packed, F32 or 16-bit; out F32 packed.
     */
    void linear(Temporaries tmp, long x, long ldx, Tensor w, long ldw, Tensor bias, Tensor out, int m, int n, int k) {
        if (x % 16 != 0 || ldx % 8 != 0 || !supports(w, ldw, k)) {
            throw new CudaException("skinny GEMM needs 16-byte aligned rows and k % 8 == 0; got x at " + x + " ld " + ldx
                    + ", w " + w + " ld " + ldw + ", k " + k);
        }
        SkinnyGemmPlan shape = SkinnyGemmPlan.of(m, n, k, 1);
        String name = shape.kernel(w.dtype());
        CUfunc_st function = ctx.kernels.largeSharedFunction(MODULE, name);
        long slots = (long) resident(name, function, shape.sharedBytes()) * ctx.multiprocessors;
        SkinnyGemmPlan plan = SkinnyGemmPlan.of(m, n, k, slots, SkinnyGemmMode.configuredSplits());
        if (logged.add(name)) {
            LOG.debug("linear of {} rows with {} weights takes {}: {} blocks of {} features x {} k slices (n={} k={})", m,
                    w.dtype(), name, plan.featureBlocks(), SkinnyGemmPlan.FEATURES_PER_BLOCK, plan.splits(), n, k);
        }
        long biasAddress = bias == null ? 0L : CudaContext.address(bias);
        int biasType = bias == null ? 0 : bias.dtype().ordinal();
        Tensor partials = plan.splits() > 1 ? tmp.scratch(DType.F32, plan.splits(), m, n) : null;
        ctx.launch.of(function, name)
                .ptr(x).i64(ldx).ptr(CudaContext.address(w)).i64(ldw).ptr(biasAddress).i32(biasType)
                .ptr(CudaContext.address(out)).ptr(partials == null ? 0L : CudaContext.address(partials))
                .i32(m).i32(n).i32(k).i32(plan.stepsPerSplit())
                .run(plan.featureBlocks(), plan.splits(), SkinnyGemmPlan.THREADS, plan.sharedBytes());
        if (partials != null) {
            long total = (long) m * n;
            ctx.launch.of(ctx.kernels.function(MODULE, "gemm_skinny_reduce"), "gemm_skinny_reduce")
                    .ptr(CudaContext.address(partials)).i32(plan.splits()).ptr(biasAddress).i32(biasType)
                    .ptr(CudaContext.address(out)).i32(m).i32(n)
                    .run(ctx.pointwiseBlocks(total), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * Blocks of kernel {@code name} that fit on one multiprocessor at once; asked of the driver once
     * per kernel, so graph capture, which follows a first eager call, makes no driver query.
     */
    private int resident(String name, CUfunc_st function, int sharedBytes) {
        return residentBlocks.computeIfAbsent(name, key -> {
            int[] blocks = new int[1];
            Cuda.checkDriver(cudart.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, function, SkinnyGemmPlan.THREADS,
                    sharedBytes), "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ", " + sharedBytes + " shared bytes)");
            return Math.max(1, blocks[0]);
        });
    }
}
