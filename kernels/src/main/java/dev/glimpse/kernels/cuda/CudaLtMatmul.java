package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

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
 * {@link #matmul} generalises this to a batch of weights stacked at a fixed stride that share x
 * (fused q/k/v or gate/up: one launch streams all of them) and to D = residual + product (beta 1,
 * C the residual, which may be out itself); {@link #linearGelu} applies
 * gelu_tanh in the epilogue ({@code GELU[_BIAS]}) and may write D in the 16-bit dtype of the next
 * product's input ({@link LtProblem.Output}).
 *
 * <p>The epilogue adds the bias in F32 to the F32 accumulator (alpha = 1, beta = 0), exactly the
 * addition the separate {@code add_bias_rows} pass did. Results still need not be bit-identical
 * to the {@code cublasGemmEx} path: cuBLASLt may pick another kernel (tile shape, split-k) than
 * {@code cublasGemmEx} does, which sums the k products in another order.
 *
 * <p>Algorithm choice ({@value #TUNE_PROPERTY}, default true, read when a plan is made): each
 * problem's first call outside stream capture times the heuristic's first
 * {@value LtPlan#HEURISTIC_CANDIDATES} algorithms, plus split-K variants for skinny deep products
 * ({@link LtProblem#offersSplitK}), on the call's own operands with CUDA events ({@value #WARMUP}
 * warm-up and {@value #REPS} timed calls each, the L2 overwritten before each timed call so the
 * weights stream from HBM as in a model's layer) and keeps the fastest ({@link LtChoice}: ties go to
 * the heuristic's order). A call made while the stream is captured runs the heuristic's first
 * and leaves the measurement to a later eager call. A measured choice also serves the other row
 * counts of its power-of-two row bucket ({@link LtProblem#bucketed}: 65..128 rows, 513..1024, ...)
 * wherever {@code cublasLtMatmulAlgoCheck} accepts it, so a prompt of a new length costs no
 * timing, only the first of its bucket does (about a hundred products, a few to tens of ms).
 * Timing writes the output the call writes anyway, except when the product accumulates onto a
 * residual: then it writes a scratch D, so the residual is read intact by the real call. With the property false a plan asks the heuristic
 * for one algorithm and runs it, as before tuning existed.
 *
 * <p>Measured choices persist across processes ({@link LtChoiceStore}, {@value LtChoiceStore#PROPERTY}:
 * a file, or {@code off}; by default one file per GPU model and library versions under the user's
 * cache directory, read when this path is made): a problem whose row bucket an earlier
 * process measured rebuilds that algorithm ({@link LtAlgoConfig}) and, where
 * {@code cublasLtMatmulAlgoCheck} accepts it for the exact problem within the workspace, runs it
 * without any timing; otherwise it is measured as above and the file's entry replaced. So only a
 * machine's first process pays the measurement, and a one-request CLI run starts as fast as the
 * heuristic's first did.
 *
 * <p>Each {@link LtProblem} gets one {@link LtPlan}, cached (least recently used out beyond
 * {@value #CACHE_LIMIT}) so repeated calls query nothing. Calls queue on the backend's stream
 * with a workspace allocated once, at the first call (from the backend's memory, so within its
 * budget; a budget too small for it leaves cuBLASLt without one), never wait on the host after
 * the measurement, and record into a CUDA graph. A call that cannot be served gives {@code false}
 * and the caller takes the {@code cublasGemmEx} path: a shape the heuristic has no algorithm for,
 * or a first call made while the stream is being captured (the workspace is never allocated
 * inside a graph).
 */
final class CudaLtMatmul implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CudaLtMatmul.class);

    /** Turns the measured algorithm choice on or off ({@code true} by default). */
    static final String TUNE_PROPERTY = "glimpse.cuda.ltTune";

    /** Workspace bytes offered to cuBLASLt (split-k and stream-k kernels use it). */
    static final long WORKSPACE_BYTES = 32L << 20;

    static final int WARMUP = 1;
    static final int REPS = 3;

    private static final int CACHE_LIMIT = 64;

    private final CudaContext ctx;
    private final cublasLtContext handle = new cublasLtContext();
    /** Device address of the workspace (0: none); valid once {@link #workspaceBytes} is not negative. */
    private long workspace;
    /** Bytes of the workspace; -1 until the first call outside a capture decides them. */
    private long workspaceBytes = -1;
    private final FloatPointer one = new FloatPointer(1).put(1f);
    private final FloatPointer zero = new FloatPointer(1).put(0f);
    private final LongPointer biasPointer = new LongPointer(1);
    private final FloatPointer elapsed = new FloatPointer(1);
    private CUevent_st[] timingStart;
    private CUevent_st[] timingStop;
    /** Device address of the L2 flush buffer while a measurement runs; {@link #flushBytes} 0 when there is none. */
    private long flush;
    private long flushBytes;
    private final Map<LtProblem, LtPlan> plans = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<LtProblem, LtPlan> eldest) {
            if (size() > CACHE_LIMIT) {
                eldest.getValue().close();
                return true;
            }
            return false;
        }
    };
    /** The measured choice per {@link LtProblem#bucketed} problem (least recently used out beyond the same limit). */
    private final Map<LtProblem, LtPlan.Candidate> measured = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<LtProblem, LtPlan.Candidate> eldest) {
            if (size() > CACHE_LIMIT) {
                eldest.getValue().algo().close();
                return true;
            }
            return false;
        }
    };
    private final LtChoiceStore store;
    private boolean closed;
    private int tunings;

    /** A cuBLASLt path on ctx's stream whose measured choices persist where {@value LtChoiceStore#PROPERTY} says. */
    CudaLtMatmul(CudaContext ctx) {
        this.ctx = ctx;
        this.store = LtChoiceStore.fromProperty(identity(ctx));
        if (tuneEnabled()) {
            store.load(); // here rather than inside the first request
        }
        Cuda.checkBlas(cublas.cublasLtCreate(handle), "cublasLtCreate");
        LOG.debug("cuBLASLt measured choices persist in {}", store.file() == null ? "memory only" : store.file());
    }

    /** Whether plans made from now on measure their algorithm ({@value #TUNE_PROPERTY}, default true). */
    static boolean tuneEnabled() {
        return !"false".equals(System.getProperty(TUNE_PROPERTY));
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
        return matmul(w, ldw, x, dtype, bias, out, 0L, m, n, k, 1, 0, 0, 0);
    }

    /**
     * {@link #linear} for {@code batch} weights stacked {@code strideW} elements apart, sharing x:
     * out[i] (F32 [m, n] packed, {@code strideOut} elements apart) = x W[i]^T + bias[i] (biases
     * {@code strideBias} F32 elements apart, each 256-byte aligned), plus {@code residual}[i] (the
     * same layout as out, possibly out itself; 0 for none).
     */
    boolean matmul(long w, long ldw, long x, DType dtype, long bias, long out, long residual, int m, int n, int k,
                   int batch, long strideW, long strideOut, long strideBias) {
        return matmul(w, ldw, x, dtype, bias, out, residual, m, n, k, batch, strideW, strideOut, strideBias,
                LtProblem.Output.F32);
    }

    /**
     * Queues out [m, n] = gelu_tanh(x W^T + bias) (cuBLASLt's {@code GELU[_BIAS]} epilogue: the sum
     * and the GELU in F32, rounded to nearest even on store when {@code outType} is F16/BF16),
     * operands as {@link #linear}; {@code bias} holds n packed values of {@code biasType} (F32, or
     * {@code outType}). The GELU is the tanh approximation, as PyTorch's
     * {@code _addmm_activation(use_gelu=True)} relies on.
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean linearGelu(long w, long ldw, long x, DType dtype, long bias, DType biasType, long out, DType outType,
                       int m, int n, int k) {
        return matmul(w, ldw, x, dtype, bias, out, 0L, m, n, k, 1, 0, 0, 0,
                new LtProblem.Output(true, outType, bias != 0 ? biasType : DType.F32));
    }

    /**
     * Queues out [m, n] = x W^T + bias with D of the 16-bit {@code outType} (cuBLASLt's {@code BIAS}
     * epilogue: the F32 sum plus the bias in F32, rounded to nearest even once on store, as PyTorch's bf16
     * {@code addmm} rounds its output), operands as {@link #linear}; {@code bias} holds n packed values
     * of {@code outType} (the epilogue's default bias type for that D), or is 0 for none.
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean linearRounded(long w, long ldw, long x, DType dtype, long bias, long out, DType outType, int m, int n, int k) {
        return matmul(w, ldw, x, dtype, bias, out, 0L, m, n, k, 1, 0, 0, 0,
                new LtProblem.Output(false, outType, bias != 0 ? outType : DType.F32));
    }

    private boolean matmul(long w, long ldw, long x, DType dtype, long bias, long out, long residual, int m, int n, int k,
                           int batch, long strideW, long strideOut, long strideBias, LtProblem.Output output) {
        if (closed) {
            throw new CudaException(ctx.device + ": the cuBLASLt path is closed");
        }
        if (workspaceBytes < 0 && !allocateWorkspace()) {
            return false;
        }
        LtProblem problem = LtProblem.of(m, n, k, dtype, ldw, batch, strideW, strideOut, strideBias, bias != 0,
                residual != 0, w, x, out, residual, output);
        LtPlan plan = plans.get(problem);
        if (plan == null) {
            plan = plan(problem, bias);
            plans.put(problem, plan);
            if (!plan.found()) {
                return false;
            }
        } else if (bias != 0) {
            LtPlan.setBias(plan.desc, bias, biasPointer);
        }
        if (!plan.found()) {
            return false;
        }
        if (!plan.tuned && !capturing()) {
            tune(plan, w, x, out, residual);
        }
        int status = run(plan, plan.algorithm(), w, x, residual == 0 ? out : residual, out);
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            Cuda.checkBlas(status, "cublasLtMatmul(" + problem + ", " + plan.algorithm().label() + ")");
        }
        return true;
    }

    /**
     * A new plan for {@code problem}: with tuning off the heuristic's first; else the choice
     * measured for its row bucket in this process, or else the one an earlier process stored
     * ({@link LtChoiceStore}) where cuBLASLt accepts it for this problem (a plan of the heuristic's
     * first plus that algorithm, final: no heuristic list, no measurement); otherwise the
     * heuristic's candidates, to be measured at the first call outside a capture.
     */
    private LtPlan plan(LtProblem problem, long bias) {
        if (!tuneEnabled()) {
            LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, 1);
            plan.tuned = true;
            return plan;
        }
        LtProblem bucket = problem.bucketed();
        LtPlan.Candidate known = measured.get(bucket);
        if (known == null) {
            Optional<LtAlgoConfig> stored = store.get(bucket.cacheKey());
            if (stored.isPresent()) {
                LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, 1);
                if (plan.found() && plan.adoptStored(handle, stored.get(), workspaceBytes)) {
                    LOG.debug("cuBLASLt {}: {}", problem, plan.algorithm().label());
                    measured.put(bucket, LtPlan.copyOf(plan.algorithm()));
                    return plan;
                }
                plan.close();
                LOG.debug("cuBLASLt {}: the stored {} is not accepted; measuring again", problem, stored.get().label());
            }
        }
        LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, LtPlan.HEURISTIC_CANDIDATES);
        plan.tuned = plan.candidates.size() == 1;
        if (known != null && !plan.tuned && plan.adopt(handle, known, workspaceBytes)) {
            LOG.debug("cuBLASLt {}: {} measured for its row bucket", problem, known.label());
        }
        return plan;
    }

    /** Queues one product with {@code candidate}: D = product (+ C when the problem accumulates). */
    private int run(LtPlan plan, LtPlan.Candidate candidate, long w, long x, long c, long d) {
        return cublas.cublasLtMatmul(handle, plan.desc, one, Cuda.at(w), plan.layoutW, Cuda.at(x), plan.layoutX,
                plan.problem.accumulate() ? one : zero, Cuda.at(c), plan.layoutOut, Cuda.at(d), plan.layoutOut,
                candidate.algo(), Cuda.at(workspace), workspaceBytes, ctx.stream);
    }

    /**
     * Times every candidate of {@code plan} on these operands and keeps the fastest. An
     * accumulating product writes a scratch D while timing (its C, the residual, stays as it was);
     * where the memory budget cannot hold that scratch the heuristic's first is kept. A candidate
     * that cuBLASLt refuses to run is skipped.
     */
    private void tune(LtPlan plan, long w, long x, long out, long residual) {
        LtProblem p = plan.problem;
        long scratch = 0;
        if (p.accumulate()) {
            long elements = (long) (p.batch() - 1) * p.strideOut() + (long) p.m() * p.n();
            try {
                scratch = ctx.memory.allocate(elements * Float.BYTES, () -> "cuBLASLt timing output of " + p);
            } catch (CudaOutOfMemoryException e) {
                LOG.debug("cuBLASLt {} keeps the heuristic's first: no memory to time it ({})", p, e.getMessage());
                plan.tuned = true;
                return;
            }
        }
        long d = scratch != 0 ? scratch : out;
        long c = residual == 0 ? d : residual;
        double[] millis = new double[plan.candidates.size()];
        try {
            allocateFlush();
            for (int i = 0; i < millis.length; i++) {
                millis[i] = time(plan, plan.candidates.get(i), w, x, c, d);
            }
        } finally {
            if (scratch != 0) {
                ctx.memory.free(scratch);
            }
            if (flushBytes > 0) {
                ctx.memory.free(flush);
                flushBytes = 0;
            }
        }
        plan.chosen = LtChoice.fastest(millis);
        plan.tuned = true;
        tunings++;
        LtPlan.Candidate previous = measured.put(p.bucketed(), LtPlan.copyOf(plan.algorithm()));
        if (previous != null) {
            previous.algo().close();
        }
        LtAlgoConfig.of(plan.algorithm().algo()).ifPresentOrElse(config -> store.record(p.bucketed().cacheKey(), config),
                () -> LOG.debug("cuBLASLt {}: the choice's attributes cannot be read; it is not stored", p));
        if (LOG.isDebugEnabled()) {
            LOG.debug(String.format(Locale.ROOT, "cuBLASLt %s: %s, %.4f ms (heuristic's first %.4f ms, %d candidates, %.0f GB/s)",
                    p, plan.algorithm().label(), millis[plan.chosen], millis[0], millis.length,
                    p.minimumBytes() / (millis[plan.chosen] * 1e6)));
        }
    }

    /**
     * Milliseconds per call of {@code candidate}: {@value #WARMUP} warm-up call(s), then
     * {@value #REPS} calls each timed by its own event pair after the L2 cache was overwritten
     * ({@link #flushL2}), so every timed call streams its weights from HBM as a layer of a real
     * model does (the same weights again would partly hit the L2 and favour other algorithms).
     * NaN when cuBLASLt refuses the candidate.
     */
    private double time(LtPlan plan, LtPlan.Candidate candidate, long w, long x, long c, long d) {
        if (timingStart == null) {
            timingStart = new CUevent_st[REPS];
            timingStop = new CUevent_st[REPS];
            for (int i = 0; i < REPS; i++) {
                timingStart[i] = new CUevent_st();
                timingStop[i] = new CUevent_st();
                Cuda.check(cudart.cudaEventCreate(timingStart[i]), "cudaEventCreate");
                Cuda.check(cudart.cudaEventCreate(timingStop[i]), "cudaEventCreate");
            }
        }
        for (int i = 0; i < WARMUP; i++) {
            if (run(plan, candidate, w, x, c, d) != cublas.CUBLAS_STATUS_SUCCESS) {
                return Double.NaN;
            }
        }
        for (int i = 0; i < REPS; i++) {
            flushL2();
            Cuda.check(cudart.cudaEventRecord(timingStart[i], ctx.stream), "cudaEventRecord");
            Cuda.checkBlas(run(plan, candidate, w, x, c, d), "cublasLtMatmul(" + plan.problem + ", " + candidate.label() + ")");
            Cuda.check(cudart.cudaEventRecord(timingStop[i], ctx.stream), "cudaEventRecord");
        }
        double total = 0;
        for (int i = 0; i < REPS; i++) {
            Cuda.check(cudart.cudaEventSynchronize(timingStop[i]), "cudaEventSynchronize");
            Cuda.check(cudart.cudaEventElapsedTime(elapsed, timingStart[i], timingStop[i]), "cudaEventElapsedTime");
            total += elapsed.get();
        }
        return total / REPS;
    }

    /**
     * Allocates the L2 flush buffer, twice the device's L2 size, for one measurement (freed after
     * it, stream-ordered); none when the memory budget cannot hold it, then timings may see a warm L2.
     */
    private void allocateFlush() {
        int[] l2 = new int[1];
        Cuda.check(cudart.cudaDeviceGetAttribute(l2, cudart.cudaDevAttrL2CacheSize, ctx.device.index()),
                "cudaDeviceGetAttribute(L2 cache size)");
        long bytes = 2L * l2[0];
        try {
            flush = ctx.memory.allocate(bytes, () -> "the cuBLASLt timing's L2 flush buffer");
            flushBytes = bytes;
        } catch (CudaOutOfMemoryException e) {
            LOG.debug("cuBLASLt timings run with a warm L2: {}", e.getMessage());
            flushBytes = 0;
        }
    }

    /** Overwrites the L2 flush buffer (nothing when there is none). */
    private void flushL2() {
        if (flushBytes > 0) {
            Cuda.check(cudart.cudaMemsetAsync(Cuda.at(flush), 0, flushBytes, ctx.stream), "cudaMemsetAsync(L2 flush)");
        }
    }

    /** Plans whose algorithm was measured so far; for tests. */
    int tunings() {
        return tunings;
    }

    /** The GPU model and library versions a stored choice of this device is valid for. */
    static LtChoiceStore.Identity identity(CudaContext ctx) {
        int[] major = new int[1];
        int[] minor = new int[1];
        int[] driver = new int[1];
        Cuda.check(cudart.cudaDeviceGetAttribute(major, cudart.cudaDevAttrComputeCapabilityMajor, ctx.device.index()),
                "cudaDeviceGetAttribute(compute capability major)");
        Cuda.check(cudart.cudaDeviceGetAttribute(minor, cudart.cudaDevAttrComputeCapabilityMinor, ctx.device.index()),
                "cudaDeviceGetAttribute(compute capability minor)");
        Cuda.check(cudart.cudaDriverGetVersion(driver), "cudaDriverGetVersion");
        return new LtChoiceStore.Identity(ctx.deviceName, major[0], minor[0], cublas.cublasLtGetVersion(),
                cublas.cublasLtGetCudartVersion(), driver[0]);
    }

    private boolean capturing() {
        int[] capture = new int[1];
        Cuda.check(cudart.cudaStreamIsCapturing(ctx.stream, capture), "cudaStreamIsCapturing");
        return capture[0] != cudart.cudaStreamCaptureStatusNone;
    }

    /**
     * Allocates the workspace unless the stream is being captured (then false: nothing may be
     * allocated into a graph). A budget that cannot hold it leaves cuBLASLt without one.
     */
    private boolean allocateWorkspace() {
        if (capturing()) {
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

    /** Frees the plans, the workspace (stream-ordered), the timing events and the cuBLASLt handle. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (LtPlan plan : plans.values()) {
            plan.close();
        }
        plans.clear();
        measured.values().forEach(c -> c.algo().close());
        measured.clear();
        if (workspace != 0) {
            ctx.memory.free(workspace);
        }
        if (timingStart != null) {
            for (int i = 0; i < REPS; i++) {
                cudart.cudaEventDestroy(timingStart[i]);
                cudart.cudaEventDestroy(timingStop[i]);
            }
        }
        cublas.cublasLtDestroy(handle);
        one.close();
        zero.close();
        biasPointer.close();
        elapsed.close();
    }
}
