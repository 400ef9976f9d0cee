package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulAlgo_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The cuBLASLt descriptors of one {@link LtProblem} and the algorithms it may run: the heuristic's
 * candidates in its order, then (for skinny, deep products, when asked) split-K variants of them
 * that {@code cublasLtMatmulAlgoCheck} accepts within the workspace. {@link #chosen} starts at the
 * heuristic's first and is replaced once by {@link CudaLtMatmul}'s measurement.
 *
 * <p>Layouts (column-major, as {@link CudaLtMatmul} explains): W [k, n] ld ldw, x [k, m] ld k,
 * out (C and D) [n, m] ld n; a batch of stacked weights sets each layout's batch count and stride
 * (x's stride 0: every product reads the same x) and the bias batch stride.
 */
final class LtPlan implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LtPlan.class);

    /** Algorithms asked of the heuristic when tuning (the measurement picks among them). */
    static final int HEURISTIC_CANDIDATES = 16;

    /** Heuristic candidates (in its order) whose split-K variants are offered to a skinny product. */
    private static final int SPLIT_K_SOURCES = 4;

    private static final int[] SPLIT_K = {2, 4, 8};

    private static final int ALGO_WORDS = 8;

    /** Most algorithm ids asked of {@code cublasLtMatmulAlgoGetIds} (a CUDA 13 build lists a few dozen per type set). */
    private static final int MAX_ALGORITHM_IDS = 256;

    final LtProblem problem;
    final cublasLtMatmulDescOpaque_t desc;
    /** The layouts, set one by one after the descriptor, so a failure frees those made. */
    cublasLtMatrixLayoutOpaque_t layoutW;
    cublasLtMatrixLayoutOpaque_t layoutX;
    cublasLtMatrixLayoutOpaque_t layoutOut;
    final List<Candidate> candidates = new ArrayList<>();
    /** Index into {@link #candidates} of the algorithm calls run. */
    int chosen;
    /** Whether the choice was measured (then it is final). */
    boolean tuned;
    /** Which search measures the choice ({@link LtSearch#current} when the plan was made). */
    LtSearch search;

    /** An algorithm the plan may run, the workspace it needs, and how it was found (for the debug log). */
    record Candidate(cublasLtMatmulAlgo_t algo, long workspace, String label) {
    }

    private LtPlan(LtProblem problem, cublasLtMatmulDescOpaque_t desc) {
        this.problem = problem;
        this.desc = desc;
    }

    boolean found() {
        return !candidates.isEmpty();
    }

    Candidate algorithm() {
        return candidates.get(chosen);
    }

    /**
     * A plan for {@code p}; the bias pointer (0: none) is set before the heuristic query, as at the
     * call. {@code candidates} > 1 asks the heuristic for that many and adds split-K variants where
     * {@link LtProblem#offersSplitK} says so; 1 keeps the heuristic's first alone.
     */
    static LtPlan create(cublasLtContext handle, LtProblem p, long workspaceBytes, long bias, LongPointer biasPointer,
                         int candidates) {
        int type = p.dtype() == DType.BF16 ? cudart.CUDA_R_16BF : cudart.CUDA_R_16F;
        LtPlan plan = null;
        cublasLtMatmulPreferenceOpaque_t preference = null;
        boolean done = false;
        try (PointerPointer<?> created = new PointerPointer<>(1)) {
            Cuda.checkBlas(cublas.cublasLtMatmulDescCreate(created, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F),
                    "cublasLtMatmulDescCreate");
            plan = new LtPlan(p, new cublasLtMatmulDescOpaque_t(created.get(0)));
            cublasLtMatmulDescOpaque_t desc = plan.desc;
            plan.layoutW = layout(created, type, p.k(), p.n(), p.ldw(), p.batch(), p.strideW(), "W");
            plan.layoutX = layout(created, type, p.k(), p.m(), p.k(), p.batch(), 0, "x");
            plan.layoutOut = layout(created, cudaType(p.output().type()), p.n(), p.m(), p.n(), p.batch(), p.strideOut(), "out");
            Cuda.checkBlas(cublas.cublasLtMatmulPreferenceCreate(created), "cublasLtMatmulPreferenceCreate");
            preference = new cublasLtMatmulPreferenceOpaque_t(created.get(0));
            setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_TRANSA, cublas.CUBLAS_OP_T, "TRANSA");
            setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_TRANSB, cublas.CUBLAS_OP_N, "TRANSB");
            setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue(p), "EPILOGUE");
            if (p.bias()) {
                setDesc(desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, cudaType(p.output().biasType()), "BIAS_DATA_TYPE");
                setBias(desc, bias, biasPointer);
                if (p.batch() > 1) {
                    try (LongPointer stride = new LongPointer(1).put(p.strideBias())) {
                        Cuda.checkBlas(cublas.cublasLtMatmulDescSetAttribute(desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                stride, Long.BYTES), "cublasLtMatmulDescSetAttribute(BIAS_BATCH_STRIDE)");
                    }
                }
            }
            try (LongPointer bytes = new LongPointer(1).put(workspaceBytes)) {
                Cuda.checkBlas(cublas.cublasLtMatmulPreferenceSetAttribute(preference,
                        cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, bytes, Long.BYTES),
                        "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
            }
            setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, p.alignW(), "MIN_ALIGNMENT_A_BYTES");
            setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, p.alignX(), "MIN_ALIGNMENT_B_BYTES");
            setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, p.alignOut(), "MIN_ALIGNMENT_C_BYTES");
            setPreference(preference, cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, p.alignOut(), "MIN_ALIGNMENT_D_BYTES");
            plan.addHeuristic(handle, preference, candidates);
            if (candidates > 1 && p.offersSplitK() && plan.found()) {
                plan.addSplitK(handle, workspaceBytes);
            }
            if (!plan.found()) {
                LOG.debug("cuBLASLt has no algorithm for {}; cublasGemmEx and separate passes are used", p);
            }
            done = true;
            return plan;
        } finally {
            if (preference != null) {
                cublas.cublasLtMatmulPreferenceDestroy(preference);
            }
            if (!done && plan != null) {
                plan.close();
            }
        }
    }

    /** The cuBLASLt epilogue of p: GELU (the tanh approximation) or none, with or without the bias. */
    private static int epilogue(LtProblem p) {
        if (p.output().gelu()) {
            return p.bias() ? cublas.CUBLASLT_EPILOGUE_GELU_BIAS : cublas.CUBLASLT_EPILOGUE_GELU;
        }
        return p.bias() ? cublas.CUBLASLT_EPILOGUE_BIAS : cublas.CUBLASLT_EPILOGUE_DEFAULT;
    }

    /** The cudaDataType of F32, F16 or BF16. */
    static int cudaType(DType dtype) {
        return switch (dtype) {
            case BF16 -> cudart.CUDA_R_16BF;
            case F16 -> cudart.CUDA_R_16F;
            case F32 -> cudart.CUDA_R_32F;
            default -> throw new IllegalArgumentException("cuBLASLt operands are F32, F16 or BF16, not " + dtype);
        };
    }

    private void addHeuristic(cublasLtContext handle, cublasLtMatmulPreferenceOpaque_t preference, int requested) {
        try (cublasLtMatmulHeuristicResult_t results = new cublasLtMatmulHeuristicResult_t(requested)) {
            int[] count = new int[1];
            int status = cublas.cublasLtMatmulAlgoGetHeuristic(handle, desc, layoutW, layoutX, layoutOut, layoutOut,
                    preference, requested, results, count);
            if (status == cublas.CUBLAS_STATUS_NOT_SUPPORTED) {
                return;
            }
            Cuda.checkBlas(status, "cublasLtMatmulAlgoGetHeuristic(" + problem + ")");
            for (int i = 0; i < count[0]; i++) {
                cublasLtMatmulHeuristicResult_t r = results.getPointer(i);
                if (r.state() == cublas.CUBLAS_STATUS_SUCCESS && roundsOnce(r.algo())) {
                    candidates.add(new Candidate(copy(r.algo()), r.workspaceSize(), "heuristic #" + i));
                }
            }
        }
    }

    /**
     * Split-K variants (k split 2, 4, 8 ways, partial sums reduced in F32 in the workspace, or, for an F32
     * output, in the output type where that is the only out-of-place scheme: see {@link #roundsOnce}) of the first heuristic candidates that
     * support splitting and do not split already; each kept only if {@code cublasLtMatmulAlgoCheck}
     * accepts it within the workspace. In-place reduction (atomics into the output) is never offered.
     */
    private void addSplitK(cublasLtContext handle, long workspaceBytes) {
        List<Candidate> variants = new ArrayList<>();
        int sources = Math.min(SPLIT_K_SOURCES, candidates.size());
        try (IntPointer value = new IntPointer(1); SizeTPointer written = new SizeTPointer(1);
             cublasLtMatmulHeuristicResult_t check = new cublasLtMatmulHeuristicResult_t()) {
            for (int i = 0; i < sources; i++) {
                cublasLtMatmulAlgo_t algo = candidates.get(i).algo();
                if (intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo, cublas.CUBLASLT_ALGO_CAP_SPLITK_SUPPORT,
                        value, Integer.BYTES, written), value) != 1
                        || intAttribute(cublas.cublasLtMatmulAlgoConfigGetAttribute(algo, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                        value, Integer.BYTES, written), value) > 1) {
                    continue;
                }
                int schemes = intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo,
                        cublas.CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK, value, Integer.BYTES, written), value);
                int scheme = (schemes & cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE) != 0
                        ? cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE
                        : (schemes & cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE) != 0 && problem.output().type() == DType.F32
                        ? cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE : 0;
                if (scheme == 0) {
                    continue;
                }
                for (int split : SPLIT_K) {
                    cublasLtMatmulAlgo_t variant = copy(algo);
                    boolean kept = false;
                    try {
                        setConfig(variant, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM, split, value);
                        setConfig(variant, cublas.CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, scheme, value);
                        int status = cublas.cublasLtMatmulAlgoCheck(handle, desc, layoutW, layoutX, layoutOut, layoutOut,
                                variant, check);
                        if (status == cublas.CUBLAS_STATUS_SUCCESS && check.workspaceSize() <= workspaceBytes) {
                            variants.add(new Candidate(variant, check.workspaceSize(),
                                    candidates.get(i).label() + " split-K " + split));
                            kept = true;
                        }
                    } finally {
                        if (!kept) {
                            variant.close();
                        }
                    }
                }
            }
        }
        candidates.addAll(variants);
    }

    /**
     * What every cuBLASLt algorithm id for this problem's types (F32 compute and scale) supports,
     * for the wide search ({@link LtWideSearch}); ids that {@code cublasLtMatmulAlgoInit} refuses are left out.
     */
    List<LtSearchSpace.Caps> capabilities(cublasLtContext handle) {
        int operands = cudaType(problem.dtype());
        int out = cudaType(problem.output().type());
        int[] ids = new int[MAX_ALGORITHM_IDS];
        int[] count = new int[1];
        List<LtSearchSpace.Caps> caps = new ArrayList<>();
        int status = cublas.cublasLtMatmulAlgoGetIds(handle, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F, operands,
                operands, out, out, ids.length, ids, count);
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            LOG.debug("cublasLtMatmulAlgoGetIds({}) failed with status {}; the wide search has no algorithm ids", problem,
                    status);
            return caps;
        }
        try (IntPointer value = new IntPointer(1); SizeTPointer written = new SizeTPointer(1)) {
            for (int i = 0; i < count[0]; i++) {
                try (cublasLtMatmulAlgo_t algo = new cublasLtMatmulAlgo_t()) {
                    if (cublas.cublasLtMatmulAlgoInit(handle, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F, operands, operands,
                            out, out, ids[i], algo) != cublas.CUBLAS_STATUS_SUCCESS) {
                        continue;
                    }
                    caps.add(new LtSearchSpace.Caps(ids[i], idList(algo, cublas.CUBLASLT_ALGO_CAP_TILE_IDS),
                            idList(algo, cublas.CUBLASLT_ALGO_CAP_STAGES_IDS),
                            intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo, cublas.CUBLASLT_ALGO_CAP_SPLITK_SUPPORT,
                                    value, Integer.BYTES, written), value) > 0,
                            Math.max(0, intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo,
                                    cublas.CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK, value, Integer.BYTES, written), value)),
                            intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo,
                                    cublas.CUBLASLT_ALGO_CAP_CTA_SWIZZLING_SUPPORT, value, Integer.BYTES, written), value) == 1,
                            intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo,
                                    cublas.CUBLASLT_ALGO_CAP_CUSTOM_OPTION_MAX, value, Integer.BYTES, written), value)));
                }
            }
        }
        return caps;
    }

    /** The uint32 ids an array capability lists (its size asked first); none where the query fails. */
    private static List<Integer> idList(cublasLtMatmulAlgo_t algo, int capability) {
        try (SizeTPointer written = new SizeTPointer(1)) {
            if (cublas.cublasLtMatmulAlgoCapGetAttribute(algo, capability, null, 0, written) != cublas.CUBLAS_STATUS_SUCCESS
                    || written.get() < Integer.BYTES) {
                return List.of();
            }
            int n = (int) (written.get() / Integer.BYTES);
            try (IntPointer values = new IntPointer(n)) {
                if (cublas.cublasLtMatmulAlgoCapGetAttribute(algo, capability, values, (long) n * Integer.BYTES, written)
                        != cublas.CUBLAS_STATUS_SUCCESS) {
                    return List.of();
                }
                List<Integer> ids = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ids.add(values.get(i));
                }
                return ids;
            }
        }
    }

    /**
     * The algorithm {@code point} describes ({@code cublasLtMatmulAlgoInit}, then each
     * {@code CUBLASLT_ALGO_CONFIG_*} value) where cuBLASLt takes every value, the operands are as
     * aligned as it needs ({@link #fitsAlignments}: the heuristic's alignment preferences do not
     * apply here) and {@code cublasLtMatmulAlgoCheck} accepts it for this problem within the workspace; empty,
     * with nothing left allocated, otherwise. Not added to the plan: the caller does that.
     */
    Optional<Candidate> build(cublasLtContext handle, LtSearchSpace.Point point, long workspaceBytes) {
        int operands = cudaType(problem.dtype());
        int out = cudaType(problem.output().type());
        cublasLtMatmulAlgo_t algo = new cublasLtMatmulAlgo_t();
        boolean kept = false;
        try (IntPointer word = new IntPointer(1); ShortPointer half = new ShortPointer(1);
             cublasLtMatmulHeuristicResult_t check = new cublasLtMatmulHeuristicResult_t()) {
            boolean built = cublas.cublasLtMatmulAlgoInit(handle, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F, operands,
                    operands, out, out, point.algoId(), algo) == cublas.CUBLAS_STATUS_SUCCESS
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_TILE_ID, word.put(point.tile()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_STAGES_ID, word.put(point.stages()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM, word.put(point.splitK()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, word.put(point.reduction()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, word.put(point.swizzle()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, word.put(point.custom()), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, half.put((short) point.cluster()), Short.BYTES);
            if (!built || !roundsOnce(algo) || !fitsAlignments(algo, word)
                    || cublas.cublasLtMatmulAlgoCheck(handle, desc, layoutW, layoutX, layoutOut, layoutOut, algo, check)
                    != cublas.CUBLAS_STATUS_SUCCESS || check.workspaceSize() > workspaceBytes) {
                return Optional.empty();
            }
            kept = true;
            return Optional.of(new Candidate(algo, check.workspaceSize(), "wide " + point.label()));
        } finally {
            if (!kept) {
                algo.close();
            }
        }
    }

    /**
     * Whether the operands' alignments meet {@code algo}'s ({@code CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_*_BYTES},
     * uint32, read from the configured algorithm): {@link LtProblem#fitsAlignments}.
     */
    private boolean fitsAlignments(cublasLtMatmulAlgo_t algo, IntPointer value) {
        try (SizeTPointer written = new SizeTPointer(1)) {
            int[] required = new int[4];
            int[] capabilities = {cublas.CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_A_BYTES, cublas.CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_B_BYTES,
                    cublas.CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_C_BYTES, cublas.CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_D_BYTES};
            for (int i = 0; i < required.length; i++) {
                required[i] = intAttribute(cublas.cublasLtMatmulAlgoCapGetAttribute(algo, capabilities[i], value, Integer.BYTES,
                        written), value);
            }
            return problem.fitsAlignments(required[0], required[1], required[2], required[3]);
        }
    }

    /** Closes every candidate but the chosen one, which becomes the only one (a wide search leaves hundreds). */
    void retainChosen() {
        Candidate kept = candidates.get(chosen);
        candidates.forEach(c -> {
            if (c != kept) {
                c.algo().close();
            }
        });
        candidates.clear();
        candidates.add(kept);
        chosen = 0;
    }

    private static boolean set(cublasLtMatmulAlgo_t algo, int attribute, Pointer value, int bytes) {
        return cublas.cublasLtMatmulAlgoConfigSetAttribute(algo, attribute, value, bytes) == cublas.CUBLAS_STATUS_SUCCESS;
    }

    /**
     * Takes {@code measured} (an algorithm measured for another row count of this problem's bucket)
     * as the choice when {@code cublasLtMatmulAlgoCheck} accepts it for this exact problem within
     * the workspace; false, changing nothing, otherwise.
     */
    boolean adopt(cublasLtContext handle, Candidate measured, long workspaceBytes) {
        return adopt(handle, copy(measured.algo()), workspaceBytes, measured.label() + " (measured at another row count)");
    }

    /**
     * Takes the algorithm {@code stored} describes (measured by an earlier process, {@link LtChoiceStore})
     * as the choice when cuBLASLt rebuilds it for these operand types and {@code cublasLtMatmulAlgoCheck}
     * accepts it for this exact problem within the workspace; false, changing nothing, otherwise.
     */
    boolean adoptStored(cublasLtContext handle, LtAlgoConfig stored, long workspaceBytes) {
        int operands = cudaType(problem.dtype());
        int out = cudaType(problem.output().type());
        return stored.build(handle, operands, operands, out, out)
                .map(algo -> adopt(handle, algo, workspaceBytes, stored.label() + " (stored)"))
                .orElse(false);
    }

    /**
     * Adopts {@code algo} (owned from here on: kept or closed) if this problem's operands are as aligned
     * as it needs ({@link #fitsAlignments}: it was chosen for another problem of the key, which keys
     * alignments only up to {@link LtProblem#KEY_ALIGNMENT}) and cuBLASLt accepts it for this problem.
     */
    private boolean adopt(cublasLtContext handle, cublasLtMatmulAlgo_t algo, long workspaceBytes, String label) {
        try (cublasLtMatmulHeuristicResult_t check = new cublasLtMatmulHeuristicResult_t();
             IntPointer word = new IntPointer(1)) {
            if (!roundsOnce(algo) || !fitsAlignments(algo, word)) {
                algo.close();
                return false;
            }
            int status = cublas.cublasLtMatmulAlgoCheck(handle, desc, layoutW, layoutX, layoutOut, layoutOut, algo, check);
            if (status != cublas.CUBLAS_STATUS_SUCCESS || check.workspaceSize() > workspaceBytes) {
                algo.close();
                return false;
            }
            candidates.add(new Candidate(algo, check.workspaceSize(), label));
            chosen = candidates.size() - 1;
            tuned = true;
            return true;
        }
    }

    /** A standalone copy of {@code c}'s algorithm, for keeping beyond this plan. */
    static Candidate copyOf(Candidate c) {
        return new Candidate(copy(c.algo()), c.workspace(), c.label());
    }

    /**
     * Whether {@code algo} rounds this problem's D once, from the F32 sum: always for an F32 D; for a 16-bit D
     * (GELU epilogues into the next product's input, {@link CudaLtMatmul#linearRounded} and
     * {@link CudaLtMatmul#matmulRounded}: PyTorch's bf16 linear rounds its F32 sum once) only where k is not
     * split or the split sums are reduced in the compute type (F32, in the workspace). A reduction in place or
     * in D's type would round each partial sum to 16 bits first; such configurations are never candidates.
     */
    private boolean roundsOnce(cublasLtMatmulAlgo_t algo) {
        if (problem.output().type() == DType.F32) {
            return true;
        }
        try (IntPointer value = new IntPointer(1); SizeTPointer written = new SizeTPointer(1)) {
            int split = intAttribute(cublas.cublasLtMatmulAlgoConfigGetAttribute(algo, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                    value, Integer.BYTES, written), value);
            return split <= 1 || intAttribute(cublas.cublasLtMatmulAlgoConfigGetAttribute(algo,
                    cublas.CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, value, Integer.BYTES, written), value)
                    == cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
        }
    }

    /** The value an attribute query wrote; -1 where the query failed (an attribute this algorithm lacks). */
    private static int intAttribute(int status, IntPointer value) {
        return status == cublas.CUBLAS_STATUS_SUCCESS ? value.get() : -1;
    }

    private static void setConfig(cublasLtMatmulAlgo_t algo, int attribute, int v, IntPointer value) {
        value.put(v);
        Cuda.checkBlas(cublas.cublasLtMatmulAlgoConfigSetAttribute(algo, attribute, value, Integer.BYTES),
                "cublasLtMatmulAlgoConfigSetAttribute(" + attribute + ")");
    }

    /** A standalone copy of {@code algo} (an opaque struct of 8 words). */
    private static cublasLtMatmulAlgo_t copy(cublasLtMatmulAlgo_t algo) {
        cublasLtMatmulAlgo_t copy = new cublasLtMatmulAlgo_t();
        for (int i = 0; i < ALGO_WORDS; i++) {
            copy.data(i, algo.data(i));
        }
        return copy;
    }

    static void setBias(cublasLtMatmulDescOpaque_t desc, long bias, LongPointer biasPointer) {
        biasPointer.put(bias);
        Cuda.checkBlas(cublas.cublasLtMatmulDescSetAttribute(desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                biasPointer, Long.BYTES), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
    }

    private static cublasLtMatrixLayoutOpaque_t layout(PointerPointer<?> created, int type, long rows, long cols, long ld,
                                                       int batch, long stride, String name) {
        Cuda.checkBlas(cublas.cublasLtMatrixLayoutCreate(created, type, rows, cols, ld),
                "cublasLtMatrixLayoutCreate(" + name + " " + rows + "x" + cols + ", ld " + ld + ")");
        cublasLtMatrixLayoutOpaque_t layout = new cublasLtMatrixLayoutOpaque_t(created.get(0));
        if (batch > 1) {
            try (IntPointer count = new IntPointer(1).put(batch); LongPointer offset = new LongPointer(1).put(stride)) {
                setLayout(layout, cublas.CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, count, Integer.BYTES, name);
                setLayout(layout, cublas.CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, offset, Long.BYTES, name);
            } catch (RuntimeException e) {
                cublas.cublasLtMatrixLayoutDestroy(layout);
                throw e;
            }
        }
        return layout;
    }

    private static void setLayout(cublasLtMatrixLayoutOpaque_t layout, int attribute, Pointer value, long bytes, String name) {
        Cuda.checkBlas(cublas.cublasLtMatrixLayoutSetAttribute(layout, attribute, value, bytes),
                "cublasLtMatrixLayoutSetAttribute(" + name + ", " + attribute + ")");
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
        candidates.forEach(c -> c.algo().close());
        candidates.clear();
    }

    private static void destroyLayout(cublasLtMatrixLayoutOpaque_t layout) {
        if (layout != null) {
            cublas.cublasLtMatrixLayoutDestroy(layout);
        }
    }
}
