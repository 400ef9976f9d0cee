package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * and a batch's outputs at any stride (a decoder session's scratch, sized for its capacity)
 * wherever {@code cublasLtMatmulAlgoCheck} accepts it, so a prompt of a new length costs no
 * timing, only the first of its bucket does (about a hundred products, a few to tens of ms).
 * Timing writes the output the call writes anyway, except when the product accumulates onto a
 * residual: then it writes a scratch D, so the residual is read intact by the real call. With the property false a plan asks the heuristic
 * for one algorithm and runs it, as before tuning existed. {@code -Dglimpse.cuda.ltTiming=rotate}
 * times on rotating copies of the weights instead of flushing the L2 ({@link LtSearch#rotate}).
 * The wide search ({@link LtSearch}, the default; {@code -Dglimpse.cuda.ltSearch=heuristic} turns it off)
 * also times, for skinny problems, the configurations {@link LtWideSearch} builds
 * from every algorithm id's capabilities, within caps on count and time, and chooses among the
 * fastest few timed again; its choices are kept under keys of their own.
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

    /** Fastest candidates of a wide search timed again before the choice ({@link LtChoice#finalists}). */
    static final int FINALISTS = 4;

    /** Extra timings of each finalist. */
    static final int CONFIRM_ROUNDS = 2;

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
    /**
     * Device addresses of the weight copies rotation-timed runs cycle through while a measurement
     * runs (the call's weights first; {@link LtSearch#rotate}); null otherwise.
     */
    private long[] rotation;
    /** Index into {@link #rotation} of the next timed run's weights. */
    private int rotationNext;
    /** Device address of the buffer holding the weight copies (0: none). */
    private long rotationBuffer;
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
    /**
     * The measured choice per {@link LtProblem#bucketed} problem and search, keyed as in the store
     * ({@link LtSearch#storeKey}; least recently used out beyond the same limit).
     */
    private final Map<String, LtPlan.Candidate> measured = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LtPlan.Candidate> eldest) {
            if (size() > CACHE_LIMIT) {
                eldest.getValue().algo().close();
                return true;
            }
            return false;
        }
    };
    private final LtChoiceStore store;
    /** The device's compute capability (major): where the wide search is the default ({@link LtSearch#current}). */
    private final int computeMajor;
    /** Whether this process has said, once, that it is searching cuBLASLt algorithms. */
    private static final AtomicBoolean SEARCH_NOTICE = new AtomicBoolean();
    private boolean closed;
    private int tunings;
    private LtWideSearch.Report lastWideSearch;
    /** The log line of each measured or stored choice ({@link #choices}; the oldest out beyond the same limit). */
    private final Map<String, String> choices = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > CACHE_LIMIT;
        }
    };

    /** A cuBLASLt path on ctx's stream whose measured choices persist where {@value LtChoiceStore#PROPERTY} says. */
    CudaLtMatmul(CudaContext ctx) {
        this.ctx = ctx;
        LtChoiceStore.Identity identity = identity(ctx);
        this.computeMajor = identity.major();
        this.store = LtChoiceStore.fromProperty(identity);
        if (tuneEnabled()) {
            store.load(); // here rather than inside the first request
        }
        Cuda.checkBlas(cublas.cublasLtCreate(handle), "cublasLtCreate");
        LOG.debug("cuBLASLt measured choices persist in {}", store.file() == null ? "memory only" : store.file());
    }

    /** Whether plans made from now on measure their algorithm ({@value #TUNE_PROPERTY}, default true). */
    static boolean tuneEnabled() {
        return BooleanProperty.read(TUNE_PROPERTY, true);
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

    /**
     * {@link #linearRounded} for {@code batch} weights stacked {@code strideW} elements apart that share x
     * (a decoder layer's gate/up under {@code -Dglimpse.cuda.mlp16}): out[i] ([m, n] packed, of the 16-bit
     * {@code outType}, {@code strideOut} elements apart) = x W[i]^T + bias[i], rounded once on store;
     * biases of {@code outType} {@code strideBias} elements apart, each 256-byte aligned (0: none).
     * Strides are 0 for a batch of one.
     *
     * @return false, having queued nothing, when cuBLASLt has no algorithm for this problem
     */
    boolean matmulRounded(long w, long ldw, long x, DType dtype, long bias, long out, DType outType, int m, int n,
                          int k, int batch, long strideW, long strideOut, long strideBias) {
        return matmul(w, ldw, x, dtype, bias, out, 0L, m, n, k, batch, strideW, strideOut, strideBias,
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
        LtSearch search = LtSearch.current(computeMajor);
        if (!tuneEnabled()) {
            LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, 1);
            plan.search = search;
            plan.tuned = true;
            return plan;
        }
        LtProblem bucket = problem.bucketed();
        String key = search.storeKey(bucket);
        LtPlan.Candidate known = measured.get(key);
        if (known == null) {
            Optional<LtAlgoConfig> stored = store.get(key);
            if (stored.isPresent()) {
                LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, 1);
                plan.search = search;
                if (plan.found() && plan.adoptStored(handle, stored.get(), workspaceBytes)) {
                    LOG.debug("cuBLASLt {}: {}", problem, plan.algorithm().label());
                    choices.put(key, "cuBLASLt " + problem + ": " + plan.algorithm().label());
                    measured.put(key, LtPlan.copyOf(plan.algorithm()));
                    return plan;
                }
                plan.close();
                LOG.debug("cuBLASLt {}: the stored {} is not accepted; measuring again", problem, stored.get().label());
            }
        }
        LtPlan plan = LtPlan.create(handle, problem, workspaceBytes, bias, biasPointer, LtPlan.HEURISTIC_CANDIDATES);
        plan.search = search;
        plan.tuned = plan.candidates.size() == 1 && !search.widens(bucket);
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
        boolean wide = plan.search.widens(p.bucketed());
        int chosen;
        try {
            if (!plan.search.rotate() || !allocateRotation(p, w)) {
                allocateFlush();
            }
            for (int i = 0; i < millis.length; i++) {
                millis[i] = time(plan, plan.candidates.get(i), w, x, c, d);
            }
            if (wide) {
                int defaults = millis.length;
                millis = widen(plan, millis, w, x, c, d);
                chosen = verifiedChoice(plan, millis, defaults, w, x, c, d);
            } else {
                chosen = LtChoice.fastest(millis);
            }
        } finally {
            if (scratch != 0) {
                ctx.memory.free(scratch);
            }
            if (flushBytes > 0) {
                ctx.memory.free(flush);
                flushBytes = 0;
            }
            freeRotation();
        }
        plan.chosen = chosen;
        plan.tuned = true;
        tunings++;
        String key = plan.search.storeKey(p.bucketed());
        LtPlan.Candidate previous = measured.put(key, LtPlan.copyOf(plan.algorithm()));
        if (previous != null) {
            previous.algo().close();
        }
        LtAlgoConfig.of(plan.algorithm().algo()).ifPresentOrElse(config -> store.record(key, config),
                () -> LOG.debug("cuBLASLt {}: the choice's attributes cannot be read; it is not stored", p));
        String line = String.format(Locale.ROOT, "cuBLASLt %s: %s, %.4f ms (heuristic's first %.4f ms, %d candidates, %.0f GB/s)",
                p, plan.algorithm().label(), millis[plan.chosen], millis[0], millis.length,
                p.minimumBytes() / (millis[plan.chosen] * 1e6));
        choices.put(key, line);
        if (wide) {
            LOG.info("{} [wide search]", line);
            plan.retainChosen();
        } else {
            LOG.debug(line);
        }
    }

    /**
     * Runs the wide search ({@link LtWideSearch}) after the default candidates were timed
     * ({@code millis}, one per candidate of the plan): the configurations it builds join the plan's
     * candidates, in the order timed; returns the timings of all of them. The flush buffer is allocated.
     */
    private double[] widen(LtPlan plan, double[] millis, long w, long x, long c, long d) {
        List<LtWideSearch.Timed<LtPlan.Candidate>> seeds = new ArrayList<>();
        for (int i = 0; i < millis.length; i++) {
            LtPlan.Candidate candidate = plan.candidates.get(i);
            double t = millis[i];
            LtAlgoConfig.of(candidate.algo()).ifPresent(config ->
                    seeds.add(new LtWideSearch.Timed<>(LtSearchSpace.Point.of(config), candidate, t)));
        }
        LtWideSearch.Result<LtPlan.Candidate> result = LtWideSearch.run(new LtWideSearch.Device<>() {
            @Override
            public List<LtSearchSpace.Caps> capabilities() {
                return plan.capabilities(handle);
            }

            @Override
            public Optional<LtPlan.Candidate> build(LtSearchSpace.Point point) {
                return plan.build(handle, point, workspaceBytes);
            }

            @Override
            public double time(LtPlan.Candidate candidate) {
                return CudaLtMatmul.this.time(plan, candidate, w, x, c, d);
            }
        }, seeds, plan.search, System::nanoTime);
        double[] all = Arrays.copyOf(millis, millis.length + result.timed().size());
        for (int i = 0; i < result.timed().size(); i++) {
            plan.candidates.add(result.timed().get(i).candidate());
            all[millis.length + i] = result.timed().get(i).millis();
        }
        lastWideSearch = result.report();
        if (SEARCH_NOTICE.compareAndSet(false, true)) {
            LOG.warn("first use of some matrix shapes on this GPU: timing cuBLASLt algorithms for them (a few tenths of a "
                    + "second each, once per machine; kept in {}; -D{}=heuristic times fewer)",
                    store.file() == null ? "memory only" : store.file(), LtSearch.PROPERTY);
        }
        LOG.info("cuBLASLt {} wide search: {}", plan.problem, result.report().describe());
        return confirmed(plan, all, w, x, c, d);
    }

    /**
     * {@code millis} with the {@link LtChoice#finalists} timed {@value #CONFIRM_ROUNDS} more times
     * (each the mean of all its timings) and every other candidate NaN, so the choice is made among
     * the finalists on repeated timings.
     */
    private double[] confirmed(LtPlan plan, double[] millis, long w, long x, long c, long d) {
        double[] kept = new double[millis.length];
        Arrays.fill(kept, Double.NaN);
        for (int i : LtChoice.finalists(millis, FINALISTS)) {
            double sum = millis[i];
            for (int r = 0; r < CONFIRM_ROUNDS && !Double.isNaN(sum); r++) {
                sum += time(plan, plan.candidates.get(i), w, x, c, d);
            }
            kept[i] = sum / (1 + CONFIRM_ROUNDS);
        }
        return kept;
    }

    /**
     * The fastest of {@code millis} ({@link LtChoice#fastest}) whose output agrees with the
     * heuristic's first ({@link LtResultCheck}); the first {@code defaults} candidates (the default
     * search's) are taken unchecked. A wide configuration that disagrees is logged and passed over.
     */
    private int verifiedChoice(LtPlan plan, double[] millis, int defaults, long w, long x, long c, long d) {
        double[] left = millis.clone();
        while (true) {
            int i = LtChoice.fastest(left);
            if (i < defaults || agreesWithHeuristic(plan, plan.candidates.get(i), w, x, c, d)) {
                return i;
            }
            LOG.warn("cuBLASLt {}: the wide search's {} computes other values than the heuristic's first; not used",
                    plan.problem, plan.candidates.get(i).label());
            left[i] = Double.NaN;
        }
    }

    /**
     * Runs the heuristic's first into a scratch output and {@code candidate} into d (C as at the
     * call: the residual, or d itself), downloads both and compares them; false, keeping the
     * default search's choice, where the memory budget cannot hold the scratch output or either does not run.
     */
    private boolean agreesWithHeuristic(LtPlan plan, LtPlan.Candidate candidate, long w, long x, long c, long d) {
        LtProblem p = plan.problem;
        DType type = p.output().type();
        long elements = (long) (p.batch() - 1) * p.strideOut() + (long) p.m() * p.n();
        long reference;
        try {
            reference = ctx.memory.allocate(elements * type.byteSize(), () -> "cuBLASLt wide choice check of " + p);
        } catch (CudaOutOfMemoryException e) {
            LOG.info("cuBLASLt {} keeps the default search's choice: no memory to check the wide one ({})", p, e.getMessage());
            return false;
        }
        try {
            if (run(plan, plan.candidates.get(0), w, x, p.accumulate() ? c : reference, reference) != cublas.CUBLAS_STATUS_SUCCESS) {
                LOG.debug("cuBLASLt {}: the heuristic's first does not run; the wide choice cannot be checked", p);
                return false;
            }
            if (run(plan, candidate, w, x, c, d) != cublas.CUBLAS_STATUS_SUCCESS) {
                return false;
            }
            return LtResultCheck.agrees(outputs(p, reference), outputs(p, d), type);
        } finally {
            ctx.memory.free(reference);
        }
    }

    /** The m x n values of each of p's outputs at {@code address} (batch outputs strideOut elements apart), as floats. */
    private float[] outputs(LtProblem p, long address) {
        DType type = p.output().type();
        int perOutput = Math.multiplyExact(p.m(), p.n());
        float[] values = new float[Math.multiplyExact(perOutput, p.batch())];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate((long) perOutput * type.byteSize(), 16);
            for (int b = 0; b < p.batch(); b++) {
                Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(host.address()),
                        Cuda.at(address + (long) b * p.strideOut() * type.byteSize()), (long) perOutput * type.byteSize(),
                        cudart.cudaMemcpyDeviceToHost, ctx.stream), "cudaMemcpyAsync(D2H)");
                ctx.synchronize();
                for (int i = 0; i < perOutput; i++) {
                    values[b * perOutput + i] = switch (type) {
                        case F32 -> host.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        case BF16 -> DType.bf16ToFloat(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                        case F16 -> Float.float16ToFloat(host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                        default -> throw new IllegalStateException("cuBLASLt outputs are F32, F16 or BF16, not " + type);
                    };
                }
            }
        }
        return values;
    }

    /** The report of the latest wide search (null before any); for tests. */
    LtWideSearch.Report lastWideSearch() {
        return lastWideSearch;
    }

    /**
     * Every choice this path measured or took from the store so far (the most recent {@value #CACHE_LIMIT}),
     * keyed as in the store, as the line that reports it.
     */
    Map<String, String> choices() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(choices));
    }

    /**
     * Milliseconds per call of {@code candidate}: {@value #WARMUP} warm-up call(s), then
     * {@value #REPS} calls each timed by its own event pair after the L2 cache was overwritten
     * ({@link #flushL2}), or each on the next of the rotating weight copies ({@link #allocateRotation}),
     * so every timed call streams its weights from HBM as a layer of a real
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
            if (run(plan, candidate, rotated(w), x, c, d) != cublas.CUBLAS_STATUS_SUCCESS) {
                return Double.NaN;
            }
        }
        for (int i = 0; i < REPS; i++) {
            flushL2();
            long weights = rotated(w);
            Cuda.check(cudart.cudaEventRecord(timingStart[i], ctx.stream), "cudaEventRecord");
            Cuda.checkBlas(run(plan, candidate, weights, x, c, d), "cublasLtMatmul(" + plan.problem + ", " + candidate.label() + ")");
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

    /**
     * Allocates and fills the weight copies a rotation-timed measurement cycles through
     * ({@link LtSearch#rotationCopies}, the call's weights w first): one buffer holding the others,
     * each a copy of the span of memory p's weights occupy (batch strides and row gaps included) at
     * a 256-byte aligned slot, freed after the measurement. False, with nothing allocated, where the
     * memory budget cannot hold them (the L2 is flushed instead).
     */
    private boolean allocateRotation(LtProblem p, long w) {
        int[] l2 = new int[1];
        Cuda.check(cudart.cudaDeviceGetAttribute(l2, cudart.cudaDevAttrL2CacheSize, ctx.device.index()),
                "cudaDeviceGetAttribute(L2 cache size)");
        long elementBytes = p.dtype().byteSize();
        long span = ((long) (p.batch() - 1) * p.strideW() + (long) (p.n() - 1) * p.ldw() + p.k()) * elementBytes;
        long slot = (span + LtProblem.MAX_ALIGNMENT - 1) / LtProblem.MAX_ALIGNMENT * LtProblem.MAX_ALIGNMENT;
        int copies = LtSearch.rotationCopies((long) p.batch() * p.n() * p.k() * elementBytes, l2[0]);
        long[] addresses = new long[copies];
        addresses[0] = w;
        if (copies > 1) {
            try {
                rotationBuffer = ctx.memory.allocate((copies - 1) * slot, () -> (copies - 1) + " weight copies for the cuBLASLt timing of " + p);
            } catch (CudaOutOfMemoryException e) {
                LOG.info("cuBLASLt {}: no memory for {} weight copies, the L2 is flushed instead ({})", p, copies - 1,
                        e.getMessage());
                return false;
            }
            for (int i = 1; i < copies; i++) {
                addresses[i] = rotationBuffer + (i - 1) * slot;
                Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(addresses[i]), Cuda.at(w), span, cudart.cudaMemcpyDeviceToDevice,
                        ctx.stream), "cudaMemcpyAsync(weight copy)");
            }
        }
        rotation = addresses;
        rotationNext = 0;
        return true;
    }

    /** Frees the weight copies (stream-ordered), if any, and ends the rotation. */
    private void freeRotation() {
        if (rotationBuffer != 0) {
            ctx.memory.free(rotationBuffer);
            rotationBuffer = 0;
        }
        rotation = null;
        rotationNext = 0;
    }

    /** The weights the next timed run reads: the next rotating copy, or w itself when the L2 is flushed instead. */
    private long rotated(long w) {
        if (rotation == null) {
            return w;
        }
        long weights = rotation[rotationNext];
        rotationNext = (rotationNext + 1) % rotation.length;
        return weights;
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
