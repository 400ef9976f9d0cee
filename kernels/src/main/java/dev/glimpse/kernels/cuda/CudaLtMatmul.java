package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Half-precision linear layers through cuBLASLt with the bias added in the GEMM's epilogue
 * ({@code CUBLASLT_EPILOGUE_BIAS}), saving the separate bias pass over the F32 output.
 *
 * <p>Row-major out [m, n] = x [m, k] W^T [k, n] + bias is computed as the column-major
 * out^T = op(W) x^T, as {@link CudaGemm} does with {@code cublasGemmEx}: A is W seen column-major
 * as [k, n] with leading dimension ldw and {@code TRANSA = T}, B is x seen as [k, m] (ld k), C = D
 * is out seen as [n, m] (ld n). A and B are F16 or BF16, C and D F32, compute
 * {@code CUBLAS_COMPUTE_32F} with F32 scale. The bias is F32 (the bias data type defaults to
 * D's type), one value per row of D, i.e. per output feature, broadcast over the m columns.
 *
 * <p>The epilogue adds the bias in F32 to the F32 accumulator (alpha = 1, beta = 0), exactly the
 * addition the separate {@code add_bias_rows} pass did. Results still need not be bit-identical
 * to the {@code cublasGemmEx} path: cuBLASLt's heuristic may pick another kernel (tile shape,
 * split-k) than {@code cublasGemmEx} does, which sums the k products in another order.
 *
 * <p>Two further epilogues serve the vision tower's MLP and residual stream ({@link Epilogue}):
 * {@link Epilogue#GELU_TANH} ({@code CUBLASLT_EPILOGUE_GELU[_BIAS]}: GELU in F32 on the F32 sum,
 * the tanh approximation, as PyTorch's {@code _addmm_activation(use_gelu=True)} relies on) and
 * {@link Epilogue#ADD_RESIDUAL} (beta = 1 with C = the residual: D = x W^T + bias + residual, C and D
 * F32 of one layout, D may be C). Both may write D in F32 or, for GELU, in the 16-bit dtype of the
 * next product's input (C then has D's type; beta = 0 leaves it unread).
 *
 * <p>Each (shape, dtype, ldw, bias, epilogue, operand alignment) gets one plan: matmul descriptor, three
 * matrix layouts and the heuristic's best algorithm, cached (least recently used out beyond
 * {@value #CACHE_LIMIT}) so repeated calls query nothing. Calls queue on the backend's stream
 * with a workspace allocated once, at the first call (from the backend's memory, so within its
 * budget; a budget too small for it leaves cuBLASLt without one), never wait on the host, and
 * record into a CUDA graph. A call that cannot be served gives {@code false} and the caller takes
 * the {@code cublasGemmEx} path: a shape the heuristic has no algorithm for, or a first call made
 * while the stream is being captured (the workspace is never allocated inside a graph).
 */
final class CudaLtMatmul implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CudaLtMatmul.class);

    /** Workspace bytes offered to cuBLASLt (split-k and stream-k kernels use it). */
    static final long WORKSPACE_BYTES = 32L << 20;

    private static final int CACHE_LIMIT = 64;

    /** Largest alignment cuBLASLt asks about (its default minimum for every operand). */
    private static final int MAX_ALIGNMENT = 256;

    private final CudaContext ctx;
    private final cublasLtContext handle = new cublasLtContext();
    /** Device address of the workspace (0: none); valid once {@link #workspaceBytes} is not negative. */
    private long workspace;
    /** Bytes of the workspace; -1 until the first call outside a capture decides them. */
    private long workspaceBytes = -1;
    private final FloatPointer alpha = new FloatPointer(1).put(1f);
    private final FloatPointer beta = new FloatPointer(1).put(0f);
    private final FloatPointer betaOne = new FloatPointer(1).put(1f);
    private final LongPointer biasPointer = new LongPointer(1);
    private final Map<Key, Plan> plans = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Plan> eldest) {
            if (size() > CACHE_LIMIT) {
                eldest.getValue().close();
                return true;
            }
            return false;
        }
    };
    private boolean closed;

    CudaLtMatmul(CudaContext ctx) {
        this.ctx = ctx;
        Cuda.checkBlas(cublas.cublasLtCreate(handle), "cublasLtCreate");
    }

    /**
     * Queues out [m, n] (F32, packed) = x [m, k] W^T + bias on the stream. {@code w} and {@code x}
     * are device addresses of 16-bit {@code dtype} data: W's rows are {@code ldw} elements apart,
     * x is packed. {@code bias} is the address of n packed F32 values (256-byte aligned, as fresh
     * blocks are), or 0 for none.
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean linear(long w, long ldw, long x, DType dtype, long bias, long out, int m, int n, int k) {
        return matmul(w, ldw, x, dtype, bias, DType.F32, Epilogue.NONE, 0L, out, DType.F32, m, n, k);
    }

    /**
     * Queues out [m, n] = gelu_tanh(x W^T + bias) (the sum and the GELU in F32, rounded to nearest
     * even on store when {@code outType} is F16/BF16), operands as {@link #linear}; {@code bias}
     * holds n packed values of {@code biasType} (F32, or {@code outType}).
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean linearGelu(long w, long ldw, long x, DType dtype, long bias, DType biasType, long out, DType outType,
                       int m, int n, int k) {
        return matmul(w, ldw, x, dtype, bias, biasType, Epilogue.GELU_TANH, 0L, out, outType, m, n, k);
    }

    /**
     * Queues out [m, n] (F32, packed) = (x W^T + bias) + residual (the product and bias summed in
     * F32, then beta = 1 adds the F32 residual [m, n], packed); operands as {@link #linear}.
     * {@code out} may be {@code residual}.
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean linearAddResidual(long w, long ldw, long x, DType dtype, long bias, long residual, long out,
                              int m, int n, int k) {
        return matmul(w, ldw, x, dtype, bias, DType.F32, Epilogue.ADD_RESIDUAL, residual, out, DType.F32, m, n, k);
    }

    private boolean matmul(long w, long ldw, long x, DType dtype, long bias, DType biasType, Epilogue epilogue,
                           long residual, long out, DType outType, int m, int n, int k) {
        if (closed) {
            throw new CudaException(ctx.device + ": the cuBLASLt path is closed");
        }
        if (workspaceBytes < 0 && !allocateWorkspace()) {
            return false;
        }
        long c = epilogue == Epilogue.ADD_RESIDUAL ? residual : out;
        Key key = new Key(m, n, k, dtype, ldw, bias != 0, alignment(w), alignment(x), alignment(out),
                new EpilogueKey(epilogue, outType, bias != 0 ? biasType : DType.F32, alignment(c)));
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = Plan.create(handle, key, workspaceBytes, bias, biasPointer);
            plans.put(key, plan);
        } else if (bias != 0) {
            Plan.setBias(plan.desc, bias, biasPointer);
        }
        if (!plan.found()) {
            return false;
        }
        int status = cublas.cublasLtMatmul(handle, plan.desc, alpha, Cuda.at(w), plan.layoutW, Cuda.at(x), plan.layoutX,
                epilogue == Epilogue.ADD_RESIDUAL ? betaOne : beta, Cuda.at(c), plan.layoutOut, Cuda.at(out), plan.layoutOut,
                plan.result.algo(), Cuda.at(workspace), workspaceBytes, ctx.stream);
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            Cuda.checkBlas(status, "cublasLtMatmul(" + m + "x" + n + "x" + k + " " + dtype + (bias != 0 ? " +bias" : "")
                    + " " + epilogue + " -> " + outType + ")");
        }
        return true;
    }

    /**
     * Allocates the workspace unless the stream is being captured (then false: nothing may be
     * allocated into a graph). A budget that cannot hold it leaves cuBLASLt without one.
     */
    private boolean allocateWorkspace() {
        int[] capture = new int[1];
        Cuda.check(cudart.cudaStreamIsCapturing(ctx.stream, capture), "cudaStreamIsCapturing");
        if (capture[0] != cudart.cudaStreamCaptureStatusNone) {
            return false;
        }
        try {
            workspace = ctx.memory.allocate(WORKSPACE_BYTES, () -> "the cuBLASLt workspace");
            workspaceBytes = WORKSPACE_BYTES;
        } catch (CudaOutOfMemoryException e) {
            LOG.info("cuBLASLt runs without a workspace (fewer algorithms): {}", e.getMessage());
            workspace = 0;
            workspaceBytes = 0;
        }
        return true;
    }

    /** Largest power of two (at most 256) dividing {@code address}: the alignment cuBLASLt may assume. */
    static int alignment(long address) {
        long low = Long.lowestOneBit(address);
        return low == 0 || low > MAX_ALIGNMENT ? MAX_ALIGNMENT : (int) low;
    }

    /** Frees the plans, the workspace (stream-ordered) and the cuBLASLt handle. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Plan plan : plans.values()) {
            plan.close();
        }
        plans.clear();
        if (workspace != 0) {
            ctx.memory.free(workspace);
        }
        cublas.cublasLtDestroy(handle);
        alpha.close();
        beta.close();
        betaOne.close();
        biasPointer.close();
    }

    /** What a plan depends on: the problem, the weight layout, the epilogue and the operand alignments. */
    private record Key(int m, int n, int k, DType dtype, long ldw, boolean bias, int alignW, int alignX, int alignOut,
                       EpilogueKey epilogue) {
    }

    /** What cuBLASLt does after the F32 product, besides the optional bias. */
    enum Epilogue {
        /** D = x W^T (+ bias). */
        NONE,
        /** D = gelu_tanh(x W^T (+ bias)). */
        GELU_TANH,
        /** D = x W^T (+ bias) + C, C the residual (beta = 1). */
        ADD_RESIDUAL
    }

    /** The epilogue part of a {@link Key}: the epilogue, D's (and C's) dtype, the bias dtype and C's alignment. */
    private record EpilogueKey(Epilogue epilogue, DType outType, DType biasType, int alignC) {

        int code(boolean bias) {
            return switch (epilogue) {
                case GELU_TANH -> bias ? cublas.CUBLASLT_EPILOGUE_GELU_BIAS : cublas.CUBLASLT_EPILOGUE_GELU;
                case NONE, ADD_RESIDUAL -> bias ? cublas.CUBLASLT_EPILOGUE_BIAS : cublas.CUBLASLT_EPILOGUE_DEFAULT;
            };
        }
    }

    /** Descriptors and the chosen algorithm of one {@link Key}; {@code result} is null when none was found. */
    private record Plan(cublasLtMatmulDescOpaque_t desc, cublasLtMatrixLayoutOpaque_t layoutW,
                        cublasLtMatrixLayoutOpaque_t layoutX, cublasLtMatrixLayoutOpaque_t layoutOut,
                        cublasLtMatmulHeuristicResult_t result) implements AutoCloseable {

        boolean found() {
            return result != null;
        }

        /** A plan for key; the bias pointer (0: none) is set before the heuristic query, as at the call. */
        static Plan create(cublasLtContext handle, Key key, long workspaceBytes, long bias, LongPointer biasPointer) {
            int type = cudaType(key.dtype());
            cublasLtMatmulDescOpaque_t desc = null;
            cublasLtMatrixLayoutOpaque_t layoutW = null;
            cublasLtMatrixLayoutOpaque_t layoutX = null;
            cublasLtMatrixLayoutOpaque_t layoutOut = null;
            cublasLtMatmulPreferenceOpaque_t preference = null;
            cublasLtMatmulHeuristicResult_t result = new cublasLtMatmulHeuristicResult_t();
            boolean done = false;
            try {
                try (PointerPointer<?> created = new PointerPointer<>(1)) {
                    Cuda.checkBlas(cublas.cublasLtMatmulDescCreate(created, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F),
                            "cublasLtMatmulDescCreate");
                    desc = new cublasLtMatmulDescOpaque_t(created.get(0));
                    layoutW = layout(created, type, key.k(), key.n(), key.ldw(), "W");
                    layoutX = layout(created, type, key.k(), key.m(), key.k(), "x");
                    layoutOut = layout(created, cudaType(key.epilogue().outType()), key.n(), key.m(), key.n(), "out");
                    Cuda.checkBlas(cublas.cublasLtMatmulPreferenceCreate(created), "cublasLtMatmulPreferenceCreate");
                    preference = new cublasLtMatmulPreferenceOpaque_t(created.get(0));
                }
                setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_TRANSA, cublas.CUBLAS_OP_T, "TRANSA");
                setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_TRANSB, cublas.CUBLAS_OP_N, "TRANSB");
                setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_EPILOGUE, key.epilogue().code(key.bias()), "EPILOGUE");
                if (key.bias()) {
                    setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, cudaType(key.epilogue().biasType()),
                            "BIAS_DATA_TYPE");
                    setBias(desc, bias, biasPointer);
                }
                try (LongPointer bytes = new LongPointer(1).put(workspaceBytes)) {
                    Cuda.checkBlas(cublas.cublasLtMatmulPreferenceSetAttribute(preference,
                            cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, bytes, Long.BYTES),
                            "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
                }
                setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.alignW(), "MIN_ALIGNMENT_A_BYTES");
                setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.alignX(), "MIN_ALIGNMENT_B_BYTES");
                setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.epilogue().alignC(),
                        "MIN_ALIGNMENT_C_BYTES");
                setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.alignOut(), "MIN_ALIGNMENT_D_BYTES");
                int[] count = new int[1];
                int status = cublas.cublasLtMatmulAlgoGetHeuristic(handle, desc, layoutW, layoutX, layoutOut, layoutOut,
                        preference, 1, result, count);
                if (status == cublas.CUBLAS_STATUS_NOT_SUPPORTED || (status == cublas.CUBLAS_STATUS_SUCCESS && count[0] == 0)) {
                    LOG.debug("cuBLASLt has no algorithm for {}; cublasGemmEx and a bias pass are used", key);
                    result.close();
                    result = null;
                } else {
                    Cuda.checkBlas(status, "cublasLtMatmulAlgoGetHeuristic(" + key + ")");
                }
                done = true;
                return new Plan(desc, layoutW, layoutX, layoutOut, result);
            } finally {
                if (preference != null) {
                    cublas.cublasLtMatmulPreferenceDestroy(preference);
                }
                if (!done) {
                    new Plan(desc, layoutW, layoutX, layoutOut, result).close();
                }
            }
        }

        /** The cudaDataType of F32, F16 or BF16. */
        private static int cudaType(DType dtype) {
            return switch (dtype) {
                case BF16 -> cudart.CUDA_R_16BF;
                case F16 -> cudart.CUDA_R_16F;
                case F32 -> cudart.CUDA_R_32F;
                default -> throw new IllegalArgumentException("cuBLASLt operands are F32, F16 or BF16, not " + dtype);
            };
        }

        static void setBias(cublasLtMatmulDescOpaque_t desc, long bias, LongPointer biasPointer) {
            biasPointer.put(bias);
            Cuda.checkBlas(cublas.cublasLtMatmulDescSetAttribute(desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                    biasPointer, Long.BYTES), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
        }

        private static cublasLtMatrixLayoutOpaque_t layout(PointerPointer<?> created, int type, long rows, long cols, long ld,
                                                           String name) {
            Cuda.checkBlas(cublas.cublasLtMatrixLayoutCreate(created, type, rows, cols, ld),
                    "cublasLtMatrixLayoutCreate(" + name + " " + rows + "x" + cols + ", ld " + ld + ")");
            return new cublasLtMatrixLayoutOpaque_t(created.get(0));
        }

        private static void setDesc(cublasLtMatmulDescOpaque_t desc, int attribute, int value, String name) {
            try (IntPointer v = new IntPointer(1).put(value)) {
                Cuda.checkBlas(cublas.cublasLtMatmulDescSetAttribute(desc, attribute, v, Integer.BYTES),
                        "cublasLtMatmulDescSetAttribute(" + name + ")");
            }
        }

        private static void setPreference(cublasLtMatmulPreferenceOpaque_t preference, int attribute, int value, String name) {
            try (IntPointer v = new IntPointer(1).put(value)) {
                Cuda.checkBlas(cublas.cublasLtMatmulPreferenceSetAttribute(preference, attribute, v, Integer.BYTES),
                        "cublasLtMatmulPreferenceSetAttribute(" + name + ")");
            }
        }

        @Override
        public void close() {
            destroyLayout(layoutOut);
            destroyLayout(layoutX);
            destroyLayout(layoutW);
            if (desc != null) {
                cublas.cublasLtMatmulDescDestroy(desc);
            }
            if (result != null) {
                result.close();
            }
        }

        private static void destroyLayout(cublasLtMatrixLayoutOpaque_t layout) {
            if (layout != null) {
                cublas.cublasLtMatrixLayoutDestroy(layout);
            }
        }
    }
}
