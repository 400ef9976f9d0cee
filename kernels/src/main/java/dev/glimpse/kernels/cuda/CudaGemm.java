package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

import java.util.HashMap;
import java.util.Map;

/**
 * Matrix products on the GPU. Row-major [m, k] x [n, k]^T is computed by cuBLAS as the
 * column-major product out^T = W x^T (W transposed, x as is), so no operand is ever copied
 * to change its layout.
 *
 * <ul>
 *   <li>F32 weights: {@code cublasGemmEx} in F32 with {@code CUBLAS_COMPUTE_32F} and the default
 *       math mode, so no TF32: the result matches the CPU's F32 accumulation to rounding.</li>
 *   <li>F16/BF16 weights, at most {@value #GEMV_MAX_ROWS} rows (decode): a GEMV kernel of
 *       {@code gemv.cu} ({@link GemvVariant}, {@code -Dglimpse.cuda.gemv}) reads F32 activations and
 *       widens weights in registers: F32 products, F32 sums.</li>
 *   <li>F16/BF16 weights, more rows (prefill, vision): activations are rounded to the weight's
 *       dtype (or arrive in it: x may be F32 or of w's dtype) and cuBLASLt ({@link CudaLtMatmul})
 *       runs on tensor cores with F32 accumulation, F32 output and the bias added in its epilogue,
 *       as PyTorch's bf16 linear does (the activation rounding is the only extra error);
 *       {@code cublasGemmEx} and a bias pass where cuBLASLt has no algorithm.</li>
 * </ul>
 *
 * <p>x of w's 16-bit dtype on the GEMV path (at most {@value #GEMV_MAX_ROWS} rows) is widened to
 * F32 first, exactly, so the GEMV sees the values the GEMM would.</p>
 */
final class CudaGemm {

    /** Rows of x up to which half-precision weights take the GEMV kernel. */
    static final int GEMV_MAX_ROWS = 8;

    private static final int GEMV_WARPS = 8;

    /** Threads per block of the multi-feature GEMV kernels (GEMV_MULTI_THREADS in gemv_core.cuh). */
    private static final int GEMV_MULTI_THREADS = 256;

    /** Blocks per multiprocessor the k split of the multi-feature kernels aims for (2-4 waves at 2-3 resident). */
    private static final int GEMV_BLOCKS_PER_SM = 8;

    private final CudaContext ctx;
    private final CudaCopy copier;
    private final FloatPointer alpha = new FloatPointer(1);
    private final FloatPointer beta = new FloatPointer(1).put(0f);
    private final Map<String, Integer> residentBlocks = new HashMap<>();

    /**
     * Prefill/vision GEMMs with 16-bit weights take cuBLASLt with the bias in its epilogue;
     * {@code -Dglimpse.cuda.ltMatmul=false} keeps {@code cublasGemmEx} and a separate bias pass.
     */
    static final boolean USE_LT = BooleanProperty.read(CudaBackend.LT_MATMUL_PROPERTY, true);

    private final CudaLtMatmul lt;

    /** Turns the residual add inside the prefill product ({@link #linearAddResidual}) on or off. */
    static final String LT_RESIDUAL_PROPERTY = "glimpse.cuda.ltResidual";

    /** Features per stacked bias that keep each bias of a batched product 256-byte aligned (64 F32). */
    private static final int BIAS_STRIDE_ALIGNMENT = 64;

    CudaGemm(CudaContext ctx, CudaCopy copier) {
        this.ctx = ctx;
        this.copier = copier;
        this.lt = new CudaLtMatmul(ctx);
    }

    void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        Checks.out(out, checkLinear("linear", x, w, bias), ctx.device, "linear");
        int n = w.dim(0);
        int k = w.dim(1);
        int m = Checks.rows(x);
        if (m == 0 || n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor wp = packedWeight(tmp, w);
            long ldw = weightLeading(wp, k);
            if (k == 0) {
                Cuda.check(cudart.cudaMemsetAsync(Cuda.at(CudaContext.address(out)), 0, (long) m * n * 4, ctx.stream),
                        "cudaMemsetAsync");
                addBias(out, bias == null ? null : tmp.packed(bias, null), m, n);
            } else if (wp.dtype() == DType.F32) {
                Tensor xp = tmp.packed(x, DType.F32);
                gemm(CudaContext.address(wp), cudart.CUDA_R_32F, ldw, CudaContext.address(xp), cudart.CUDA_R_32F, out, m, n, k);
                addBias(out, bias == null ? null : tmp.packed(bias, null), m, n);
            } else if (m <= GEMV_MAX_ROWS) {
                gemv(tmp.packed(x, DType.F32), wp, ldw, bias == null ? null : tmp.packed(bias, null), out, m, n, k);
            } else {
                halfGemm(tmp, x, wp, ldw, bias, out, m, n, k);
            }
        }
    }

    /**
     * Checks the operands of a linear layer (x F32 or of w's dtype [.., k], w [n, k], bias null or
     * [n]) and returns the output shape, x's with the last dim n.
     */
    private int[] checkLinear(String op, Tensor x, Tensor w, Tensor bias) {
        Checks.floating(x, ctx.device, op, "x");
        Checks.floating(w, ctx.device, op, "w");
        Checks.rank(w, 2, op, "w", "[out, in]");
        if (x.dtype() != DType.F32 && x.dtype() != w.dtype()) {
            throw new TensorException(op + ": x must be F32 or of w's dtype " + w.dtype() + ", got x " + x + " and w " + w);
        }
        if (x.rank() < 1 || x.dim(-1) != w.dim(1)) {
            throw new TensorException(op + ": x " + x + " does not end in in_features " + w.dim(1) + " of w " + w);
        }
        if (bias != null) {
            Checks.floating(bias, ctx.device, op, "bias");
            if (bias.rank() != 1 || bias.dim(0) != w.dim(0)) {
                throw new TensorException(op + ": bias must be [" + w.dim(0) + "], got " + bias);
            }
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = w.dim(0);
        return shape;
    }

    /**
     * True when {@link #linearGelu} may fold its GELU into cuBLASLt for x of {@code rows} rows and
     * weights {@code w}: the tensor-core path (F16/BF16
     * weights, more than {@value #GEMV_MAX_ROWS} rows, cuBLASLt on) with
     * {@link CudaBackend#gemmEpiloguesEnabled()}.
     */
    private static boolean epilogueApplies(Tensor w, int rows) {
        return USE_LT && CudaBackend.gemmEpiloguesEnabled() && rows > GEMV_MAX_ROWS
                && (w.dtype() == DType.BF16 || w.dtype() == DType.F16) && w.dim(1) > 0 && w.dim(0) > 0;
    }

    /**
     * {@code out = gelu_tanh(x w^T + bias)} with the GELU in cuBLASLt's epilogue (F32 sum and GELU,
     * one rounding to out's dtype on store), out F32 or of w's 16-bit dtype, packed; the bias is read
     * in out's dtype (converted when it is not: keep the bias of a product before a GELU in the
     * weights' dtype, as {@code VisionWeights} does). Returns false,
     * having queued no product, where that path does not apply ({@link #epilogueApplies}, or cuBLASLt
     * has no algorithm): the caller then composes {@link #linear} and the activation.
     */
    boolean linearGelu(Tensor x, Tensor w, Tensor bias, Tensor out) {
        int[] shape = checkLinear("linearActivation", x, w, bias);
        int m = Checks.rows(x);
        if (!epilogueApplies(w, m) || (out.dtype() != DType.F32 && out.dtype() != w.dtype())
                || !java.util.Arrays.equals(out.shape(), shape) || !Checks.contiguous(out)) {
            return false;
        }
        int n = w.dim(0);
        int k = w.dim(1);
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor wp = packedWeight(tmp, w);
            Tensor xh = halfInput(tmp, x, wp.dtype(), m, k);
            // cuBLASLt's GELU epilogue takes a 16-bit output's bias in that dtype only (an F32 bias is refused)
            Tensor bp = bias == null ? null : epilogueBias(tmp, bias, out.dtype());
            return lt.linearGelu(CudaContext.address(wp), weightLeading(wp, k), CudaContext.address(xh), wp.dtype(),
                    bp == null ? 0L : CudaContext.address(bp), bp == null ? DType.F32 : bp.dtype(),
                    CudaContext.address(out), out.dtype(), m, n, k);
        }
    }

    /**
     * {@code out = x w^T + bias} with out of w's 16-bit dtype, written by cuBLASLt's bias epilogue (the
     * F32 sum plus the bias, rounded to nearest even once on store, as PyTorch's bf16 linear rounds
     * its output); the bias is read in out's dtype (converted when it is not: exact for a bias of the
     * weights' dtype, as {@code VisionWeights} keeps the product before an activation). Returns false,
     * having queued no product, where {@link #epilogueApplies} does not, out is not packed of w's
     * 16-bit dtype and the output shape, or cuBLASLt has no algorithm: the caller then composes
     * {@link #linear} into F32 and a rounding activation.
     */
    boolean linearRounded(Tensor x, Tensor w, Tensor bias, Tensor out) {
        int[] shape = checkLinear("linearActivation", x, w, bias);
        int m = Checks.rows(x);
        if (!epilogueApplies(w, m) || out.dtype() != w.dtype() || !java.util.Arrays.equals(out.shape(), shape)
                || !Checks.contiguous(out)) {
            return false;
        }
        int n = w.dim(0);
        int k = w.dim(1);
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor wp = packedWeight(tmp, w);
            Tensor xh = halfInput(tmp, x, wp.dtype(), m, k);
            Tensor bp = bias == null ? null : epilogueBias(tmp, bias, out.dtype());
            return lt.linearRounded(CudaContext.address(wp), weightLeading(wp, k), CudaContext.address(xh), wp.dtype(),
                    bp == null ? 0L : CudaContext.address(bp), CudaContext.address(out), out.dtype(), m, n, k);
        }
    }

    /** w with packed rows at a leading dimension of at least k (w itself when it already is). */
    private static Tensor packedWeight(Temporaries tmp, Tensor w) {
        Tensor wp = tmp.rowsPacked(w, null);
        return wp.dim(0) > 1 && wp.stride(0) < w.dim(1) ? tmp.packed(w, null) : wp;
    }

    /** The leading dimension cuBLAS reads {@link #packedWeight}'s rows at. */
    private static long weightLeading(Tensor wp, int k) {
        return wp.dim(0) == 1 ? k : wp.stride(0);
    }

    /**
     * x packed in the 16-bit {@code dtype}: x as is when it already is, else rounded to nearest even
     * by {@code convert_f32} into scratch.
     */
    private Tensor halfInput(Temporaries tmp, Tensor x, DType dtype, int m, int k) {
        if (x.dtype() == dtype) {
            return tmp.packed(x, null);
        }
        Tensor xp = tmp.packed(x, DType.F32);
        Tensor xh = tmp.scratch(dtype, m, k);
        long count = (long) m * k;
        ctx.launch.of(ctx.kernels.function("elementwise", "convert_f32"), "convert_f32")
                .ptr(CudaContext.address(xp)).ptr(CudaContext.address(xh)).i32(dtype.ordinal()).i64(count)
                .run(ctx.pointwiseBlocks(count), 1, CudaContext.POINTWISE_THREADS, 0);
        return xh;
    }

    /** The bias packed as {@code dtype} at cuBLASLt's default 256-byte operand alignment (fresh blocks have it). */
    private static Tensor epilogueBias(Temporaries tmp, Tensor bias, DType dtype) {
        Tensor b = tmp.packed(bias, dtype);
        return CudaContext.address(b) % 256 == 0 ? b : tmp.copy(bias, dtype);
    }

    /**
     * Prefill/vision product with 16-bit weights: x in the weights' dtype (x as is when it already
     * is, else rounded to nearest even by {@code convert_f32}), tensor-core GEMM with F32
     * accumulation into the F32 out, bias added in cuBLASLt's epilogue (cublasGemmEx and a bias
     * pass when cuBLASLt has no algorithm for the shape).
     */
    private void halfGemm(Temporaries tmp, Tensor x, Tensor wp, long ldw, Tensor bias, Tensor out, int m, int n, int k) {
        Tensor xh = halfInput(tmp, x, wp.dtype(), m, k);
        Tensor bf = bias == null ? null : epilogueBias(tmp, bias, DType.F32);
        if (USE_LT && lt.linear(CudaContext.address(wp), ldw, CudaContext.address(xh), wp.dtype(),
                bf == null ? 0L : CudaContext.address(bf), CudaContext.address(out), m, n, k)) {
            return;
        }
        int type = wp.dtype() == DType.BF16 ? cudart.CUDA_R_16BF : cudart.CUDA_R_16F;
        gemm(CudaContext.address(wp), type, ldw, CudaContext.address(xh), type, out, m, n, k);
        addBias(out, bf, m, n);
    }

    /**
     * {@link dev.glimpse.kernels.Backend#linearStack}: out[i] = x w[i]^T + bias[i] for the B weights
     * of w [B, n, k] sharing x [m, k]. With 16-bit weights, more than {@value #GEMV_MAX_ROWS} rows,
     * packed weight rows and outputs whose matrices are packed (out[i] rows n apart) this is one
     * batched cuBLASLt launch ({@link CudaLtMatmul#matmul}) over x rounded once; otherwise, or where
     * cuBLASLt has no algorithm, one {@link #linear} per weight.
     */
    void linearStack(Tensor x, Tensor w, Tensor bias, Tensor out) {
        checkStack("linearStack", x, w, bias, out);
        Checks.f32(out, ctx.device, "linearStack", "out");
        int batch = w.dim(0);
        int n = w.dim(1);
        int k = w.dim(2);
        int m = x.dim(0);
        boolean batched = USE_LT && w.dtype() != DType.F32 && m > GEMV_MAX_ROWS && k > 0 && n > 0 && batch > 1
                && (x.dtype() == DType.F32 || x.dtype() == w.dtype())
                && w.stride(2) == 1 && w.stride(1) >= k && w.stride(0) >= (long) (n - 1) * w.stride(1) + k
                && out.stride(2) == 1 && out.stride(1) == n && out.stride(0) >= (long) m * n
                && (bias == null || n % BIAS_STRIDE_ALIGNMENT == 0);
        if (batched) {
            try (Temporaries tmp = new Temporaries(copier)) {
                Tensor xh = halfInput(tmp, x, w.dtype(), m, k);
                Tensor bf = bias == null ? null : epilogueBias(tmp, bias, DType.F32);
                if (lt.matmul(CudaContext.address(w), w.stride(1), CudaContext.address(xh), w.dtype(),
                        bf == null ? 0L : CudaContext.address(bf), CudaContext.address(out), 0L, m, n, k, batch,
                        w.stride(0), out.stride(0), bf == null ? 0L : n)) {
                    return;
                }
            }
        }
        for (int i = 0; i < batch; i++) {
            linear(x, w.select(0, i), bias == null ? null : bias.select(0, i), out.select(0, i));
        }
    }

    /** The operand checks {@link #linearStack} and {@link #linearStackRounded} share: x [m, in], w [B, out, in], out [B, m, out], bias [B, out]. */
    private void checkStack(String op, Tensor x, Tensor w, Tensor bias, Tensor out) {
        Checks.floating(x, ctx.device, op, "x");
        Checks.floating(w, ctx.device, op, "w");
        Checks.rank(w, 3, op, "w", "[B, out, in]");
        Checks.rank(x, 2, op, "x", "[m, in]");
        Checks.rank(out, 3, op, "out", "[B, m, out]");
        int batch = w.dim(0);
        int n = w.dim(1);
        if (out.dim(0) != batch || out.dim(1) != x.dim(0) || out.dim(2) != n || x.dim(1) != w.dim(2)) {
            throw new TensorException(op + ": x " + x + ", w " + w + " and out " + out + " do not chain");
        }
        if (bias != null && (bias.rank() != 2 || bias.dim(0) != batch || bias.dim(1) != n)) {
            throw new TensorException(op + ": bias must be [" + batch + ", " + n + "], got " + bias);
        }
    }

    /**
     * {@link #linearStack} into out of w's 16-bit dtype: out[i] = x w[i]^T + bias[i], the F32 sum plus the
     * bias (read in out's dtype, as PyTorch's bf16 linear reads its bias) rounded to nearest even once on
     * store by one batched cuBLASLt launch ({@link CudaLtMatmul#matmulRounded}), as HF's bf16
     * {@code gate_proj} and {@code up_proj} round their outputs. Operands as {@link #linearStack}, out
     * [B, m, n] of w's dtype whose out[i] are packed. Returns false, having queued no product, where that launch
     * does not apply (F32 weights or out of another dtype, at most {@value #GEMV_MAX_ROWS} rows, an empty
     * product, unpacked weight rows or outputs, a bias whose stacked rows would not each start 256 bytes
     * apart, cuBLASLt off or without an algorithm): the caller then takes the F32 {@link #linearStack}.
     */
    boolean linearStackRounded(Tensor x, Tensor w, Tensor bias, Tensor out) {
        checkStack("linearStackRounded", x, w, bias, out);
        int batch = w.dim(0);
        int n = w.dim(1);
        int k = w.dim(2);
        int m = x.dim(0);
        DType type = w.dtype();
        boolean applies = USE_LT && type != DType.F32 && out.dtype() == type && out.device().equals(ctx.device)
                && m > GEMV_MAX_ROWS && k > 0 && n > 0
                && (x.dtype() == DType.F32 || x.dtype() == type)
                && w.stride(2) == 1 && w.stride(1) >= k && w.stride(0) >= (long) (n - 1) * w.stride(1) + k
                && out.stride(2) == 1 && out.stride(1) == n && out.stride(0) >= (long) m * n
                && (bias == null || (long) n * type.byteSize() % 256 == 0);
        if (!applies) {
            return false;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor xh = halfInput(tmp, x, type, m, k);
            Tensor bh = bias == null ? null : epilogueBias(tmp, bias, type);
            boolean stacked = batch > 1;
            return lt.matmulRounded(CudaContext.address(w), w.stride(1), CudaContext.address(xh), type,
                    bh == null ? 0L : CudaContext.address(bh), CudaContext.address(out), type, m, n, k, batch,
                    stacked ? w.stride(0) : 0L, stacked ? out.stride(0) : 0L, stacked && bh != null ? n : 0L);
        }
    }

    /**
     * Whether prefill products add the residual in cuBLASLt's epilogue ({@value #LT_RESIDUAL_PROPERTY},
     * default true, and {@link CudaBackend#gemmEpiloguesEnabled()}, which turns every GEMM epilogue off;
     * read at each call).
     */
    static boolean residualEpilogue() {
        return BooleanProperty.read(LT_RESIDUAL_PROPERTY, true) && CudaBackend.gemmEpiloguesEnabled();
    }

    /**
     * {@code out = residual + linear(x, w, bias)} in one cuBLASLt product (beta 1, C the residual,
     * D out; out may be residual) for 16-bit weights and more than {@value #GEMV_MAX_ROWS} rows;
     * x, w, bias, residual and out already checked by the caller (residual and out F32, packed, of
     * one shape). False, having queued no product, where that path does not apply ({@value
     * #LT_RESIDUAL_PROPERTY} false, F32 weights, few rows) or cuBLASLt has no algorithm: the caller
     * then runs {@link #linear} and an add.
     */
    boolean linearAddResidual(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        int n = w.dim(0);
        int k = w.dim(1);
        int m = Checks.rows(x);
        if (!USE_LT || !residualEpilogue() || w.dtype() == DType.F32 || m <= GEMV_MAX_ROWS || k == 0 || n == 0) {
            return false;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor wp = tmp.rowsPacked(w, null);
            if (wp.dim(0) > 1 && wp.stride(0) < k) {
                wp = tmp.packed(w, null);
            }
            long ldw = wp.dim(0) == 1 ? k : wp.stride(0);
            Tensor xh = halfInput(tmp, x, wp.dtype(), m, k);
            Tensor bf = null;
            if (bias != null) {
                bf = tmp.packed(bias, DType.F32);
                if (CudaContext.address(bf) % 256 != 0) {
                    bf = tmp.copy(bias, DType.F32);
                }
            }
            return lt.matmul(CudaContext.address(wp), ldw, CudaContext.address(xh), wp.dtype(),
                    bf == null ? 0L : CudaContext.address(bf), CudaContext.address(out), CudaContext.address(residual),
                    m, n, k, 1, 0, 0, 0);
        }
    }

    void batchedMatmul(Tensor a, Tensor b, boolean transposeB, float scale, Tensor out) {
        Checks.f32(a, ctx.device, "batchedMatmul", "a");
        Checks.f32(b, ctx.device, "batchedMatmul", "b");
        Checks.f32(out, ctx.device, "batchedMatmul", "out");
        if (a.rank() != 3 || b.rank() != 3 || out.rank() != 3) {
            throw new TensorException("batchedMatmul needs rank-3 a, b, out; got " + a + ", " + b + ", " + out);
        }
        int batch = a.dim(0);
        int m = a.dim(1);
        int k = a.dim(2);
        int n = transposeB ? b.dim(1) : b.dim(2);
        int bk = transposeB ? b.dim(2) : b.dim(1);
        if (b.dim(0) != batch || bk != k) {
            throw new TensorException("batchedMatmul: a " + a + " and b " + b + " (transposeB=" + transposeB + ") do not chain");
        }
        Checks.out(out, new int[] {batch, m, n}, ctx.device, "batchedMatmul");
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            Cuda.check(cudart.cudaMemsetAsync(Cuda.at(CudaContext.address(out)), 0, out.numel() * 4, ctx.stream), "cudaMemsetAsync");
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            Tensor ap = matrixView(a) ? a : tmp.packed(a, DType.F32);
            Tensor bp = matrixView(b) ? b : tmp.packed(b, DType.F32);
            alpha.put(scale);
            Cuda.checkBlas(cublas.cublasGemmStridedBatchedEx(ctx.blas,
                    transposeB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N, n, m, k, alpha,
                    Cuda.at(CudaContext.address(bp)), cudart.CUDA_R_32F, leading(bp), batchStride(bp),
                    Cuda.at(CudaContext.address(ap)), cudart.CUDA_R_32F, leading(ap), batchStride(ap), beta,
                    Cuda.at(CudaContext.address(out)), cudart.CUDA_R_32F, n, (long) m * n, batch,
                    cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmStridedBatchedEx");
        }
    }

    /** out^T[n, m] = W^T-op x^T with W column-major [k, n] (ld ldw) and x column-major [k, m] (ld k). */
    private void gemm(long w, int wType, long ldw, long x, int xType, Tensor out, int m, int n, int k) {
        alpha.put(1f);
        Cuda.checkBlas(cublas.cublasGemmEx(ctx.blas, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, n, m, k, alpha,
                Cuda.at(w), wType, Math.toIntExact(ldw), Cuda.at(x), xType, k, beta,
                Cuda.at(CudaContext.address(out)), cudart.CUDA_R_32F, n, cublas.CUBLAS_COMPUTE_32F,
                cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmEx(" + m + "x" + n + "x" + k + ")");
    }

    /**
     * The decode GEMV ({@link GemvVariant}): {@code gemv_half_multi4} in the vector case (k % 8 == 0,
     * 16-byte aligned x and weight rows), else, or when {@code -Dglimpse.cuda.gemv=warp} asks,
     * {@code gemv_half_weights} (its vector loads where the case allows them).
     */
    private void gemv(Tensor x, Tensor w, long ldw, Tensor bias, Tensor out, int m, int n, int k) {
        boolean vec = k % 8 == 0 && ldw % 8 == 0 && CudaContext.address(w) % 16 == 0 && CudaContext.address(x) % 16 == 0;
        if (!vec || GemvVariant.configured() == GemvVariant.WARP) {
            gemvArguments("gemv_half_weights", ctx.kernels.function("gemv", "gemv_half_weights"), x, w, ldw, bias, out, m, n, k)
                    .i32(vec ? 1 : 0).run((n + GEMV_WARPS - 1) / GEMV_WARPS, 1, GEMV_WARPS * 32, 0);
        } else {
            gemvMulti4(x, w, ldw, bias, out, m, n, k);
        }
    }

    /**
     * {@code gemv_half_multi4} (vector case): k is split over 2, 4 or 8 warps while that leaves each
     * warp at least 32 chunks of 8 weights and the grid is short of {@value #GEMV_BLOCKS_PER_SM}
     * blocks per multiprocessor.
     */
    private void gemvMulti4(Tensor x, Tensor w, long ldw, Tensor bias, Tensor out, int m, int n, int k) {
        int features = GemvVariant.MULTI4_FEATURES_PER_WARP;
        int chunks = k / 8;
        int split = 1;
        while (split < 8 && multiGroups(n, features, split) < (long) ctx.multiprocessors * GEMV_BLOCKS_PER_SM
                && chunks >= split * 2 * 32) {
            split *= 2;
        }
        String name = GemvVariant.MULTI4.kernel(m);
        gemvArguments(name, ctx.kernels.function("gemv", name), x, w, ldw, bias, out, m, n, k).i32(split)
                .run(multiGroups(n, features, split), 1, GEMV_MULTI_THREADS, 0);
    }

    /** The arguments every GEMV kernel starts with: x, w, w dtype, ldw, bias, bias dtype, out, rows, n, k. */
    private Launch gemvArguments(String name, CUfunc_st function, Tensor x, Tensor w, long ldw, Tensor bias, Tensor out,
                                 int m, int n, int k) {
        return ctx.launch.of(function, name)
                .ptr(CudaContext.address(x)).ptr(CudaContext.address(w)).i32(w.dtype().ordinal()).i64(ldw)
                .ptr(bias == null ? 0L : CudaContext.address(bias)).i32(bias == null ? 0 : bias.dtype().ordinal())
                .ptr(CudaContext.address(out)).i32(m).i32(n).i32(k);
    }

    /** Blocks of a multi-feature GEMV: groups of {@code features} features, 8 / split groups per block. */
    private static long multiGroups(int n, int features, int split) {
        long perBlock = (long) features * (GEMV_MULTI_THREADS / 32 / split);
        return (n + perBlock - 1) / perBlock;
    }

    /**
     * Blocks of kernel {@code name} (256 threads, {@code shared} dynamic bytes) that fit on one
     * multiprocessor at once; asked of the driver once per kernel and size, so graph capture, which
     * follows a first eager step, makes no driver query.
     */
    int residentBlocks(String name, CUfunc_st function, int shared) {
        return residentBlocks.computeIfAbsent(name + "/" + shared, key -> {
            int[] blocks = new int[1];
            Cuda.checkDriver(cudart.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, function, GEMV_MULTI_THREADS, shared),
                    "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ", " + shared + " shared bytes)");
            return Math.max(1, blocks[0]);
        });
    }

    private void addBias(Tensor out, Tensor bias, int m, int n) {
        if (bias == null) {
            return;
        }
        long total = (long) m * n;
        ctx.launch.of(ctx.kernels.function("elementwise", "add_bias_rows"), "add_bias_rows")
                .ptr(CudaContext.address(out)).ptr(CudaContext.address(bias)).i32(bias.dtype().ordinal()).i64(total).i32(n)
                .run(ctx.pointwiseBlocks(total), 1, CudaContext.POINTWISE_THREADS, 0);
    }

    /** True when cuBLAS can read t [B, R, C] in place: packed rows (stride 1) at a leading dimension >= C. */
    private static boolean matrixView(Tensor t) {
        boolean rowsPacked = t.dim(2) <= 1 || t.stride(2) == 1;
        boolean lead = t.dim(1) <= 1 || t.stride(1) >= t.dim(2);
        return rowsPacked && lead && t.stride(1) >= 0 && t.stride(0) >= 0 && t.stride(1) <= Integer.MAX_VALUE;
    }

    private static int leading(Tensor t) {
        return t.dim(1) <= 1 ? Math.max(1, t.dim(2)) : (int) t.stride(1);
    }

    private static long batchStride(Tensor t) {
        return t.dim(0) <= 1 ? 0 : t.stride(0);
    }

    /** cuBLASLt plans whose algorithm was measured so far; for tests. */
    int ltTunings() {
        return lt.tunings();
    }

    /** The latest wide cuBLASLt search's report (null before any); for tests. */
    LtWideSearch.Report ltLastWideSearch() {
        return lt.lastWideSearch();
    }

    /** The measured cuBLASLt choices so far, by store key ({@link CudaLtMatmul#choices}). */
    Map<String, String> ltChoices() {
        return lt.choices();
    }

    void close() {
        lt.close();
        alpha.close();
        beta.close();
    }
}
