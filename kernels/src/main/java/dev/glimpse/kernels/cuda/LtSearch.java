package dev.glimpse.kernels.cuda;

import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Which algorithms a measured cuBLASLt plan times, from {@value #PROPERTY} (read when a plan is
 * made): {@code heuristic} times the heuristic's candidates and their split-K variants
 * ({@link LtPlan}); {@code wide} (the default on compute capability {@value #WIDE_BY_DEFAULT_MAJOR}.x,
 * the Hopper GPUs it was validated on; {@code heuristic} is the default elsewhere) also times the configurations {@link LtSearchSpace}
 * builds from every algorithm id's capabilities ({@link LtWideSearch}), for problems whose row
 * bucket is at most {@code maxRows} ({@value #MAX_ROWS_PROPERTY}, default {@value #DEFAULT_MAX_ROWS}:
 * the skinny, weight-streaming products where the heuristic is weakest), at most
 * {@code maxCandidates} timed ({@value #MAX_CANDIDATES_PROPERTY}) and {@code maxMillis} spent
 * ({@value #MAX_MILLIS_PROPERTY}) per problem.
 *
 * <p>{@code wide} is the default since the H200 measured it (2026-11-29, bundle of 70a1290, one
 * {@code bench-llava.sh} call per row below, one JVM per variant,
 * {@code bench/results/h200-llava-2026-11-29-session9-ab.json}): LLaVA-1.5-7B's 74-row prefill (64
 * VTC-CLS tokens), best of 3 to 7, 4.946 / 4.937 / 4.946 ms in three default JVMs against 4.756,
 * 4.616, 4.653 and 4.623 ms in four JVMs with the wide search (alone or with other flags): about -0.3
 * ms, about 9 us per layer over its four products. A search took 150-380 ms per problem there, paid
 * once per machine: the choices persist ({@link LtChoiceStore}).
 *
 * <p>How a timed call keeps its weights out of the L2 ({@value #TIMING_PROPERTY}, either search):
 * {@code flush} (the default) overwrites a buffer of twice the L2 before each timed call, which
 * leaves the L2 full of dirty lines the timed GEMM may have to write back while it streams;
 * {@code rotate} times the calls on {@link #rotationCopies} rotating copies of the weights instead,
 * so every timed call reads weights the L2 lost to the other copies' reads, evicting clean lines,
 * as a layer of a real model does after the previous layer's GEMMs.
 *
 * <p>A widened or rotation-timed problem's choice is stored under a key of its own
 * ({@link #storeKey}), so {@code heuristic} runs the choices the heuristic search made.
 *
 * @param wide          whether the wide search is on
 * @param rotate        whether timed calls rotate over weight copies instead of flushing the L2
 * @param maxRows       largest row bucket the wide search takes
 * @param maxCandidates most configurations the wide search times per problem
 * @param maxMillis     most wall-clock milliseconds the wide search spends per problem
 */
record LtSearch(boolean wide, boolean rotate, int maxRows, int maxCandidates, long maxMillis) {

    static final String PROPERTY = "glimpse.cuda.ltSearch";
    static final String TIMING_PROPERTY = "glimpse.cuda.ltTiming";
    static final String MAX_ROWS_PROPERTY = "glimpse.cuda.ltSearch.maxRows";
    static final String MAX_CANDIDATES_PROPERTY = "glimpse.cuda.ltSearch.maxCandidates";
    static final String MAX_MILLIS_PROPERTY = "glimpse.cuda.ltSearch.maxMillis";

    static final int DEFAULT_MAX_ROWS = 256;
    static final int DEFAULT_MAX_CANDIDATES = 256;
    static final long DEFAULT_MAX_MILLIS = 2000;

    /** Most weight copies a rotation-timed measurement cycles through. */
    static final int MAX_ROTATION_COPIES = 256;

    /** Appended to a widened problem's {@link LtProblem#cacheKey} in the choice store. */
    static final String WIDE_KEY_SUFFIX = " search wide";

    /** Appended to a rotation-timed problem's key in the choice store (after {@link #WIDE_KEY_SUFFIX}). */
    static final String ROTATE_KEY_SUFFIX = " timing rotate";

    LtSearch {
        if (maxRows < 1 || maxCandidates < 1 || maxMillis < 1) {
            throw new IllegalArgumentException("the wide cuBLASLt search limits must be positive: rows " + maxRows
                    + ", candidates " + maxCandidates + ", ms " + maxMillis);
        }
    }

    /**
     * The compute capability (major) whose GPUs search wide unless told otherwise: the H200 ran the
     * wide search's configurations (its tests and LLaVA-1.5-7B's prefills, 2026-11-29). A
     * configuration that passes {@code cublasLtMatmulAlgoCheck} and still faults would end the CUDA
     * context in every fresh process of a machine (nothing is stored before the fault), so other
     * architectures opt in with {@code -Dglimpse.cuda.ltSearch=wide} until one has been run there.
     */
    static final int WIDE_BY_DEFAULT_MAJOR = 9;

    /** The search the system properties select now on a GPU of compute capability {@code major}.x. */
    static LtSearch current(int major) {
        return fromProperties(System::getProperty, major);
    }

    /**
     * The search {@code properties} (a name to its value, null when unset) select on a GPU of
     * compute capability {@code major}.x.
     */
    static LtSearch fromProperties(UnaryOperator<String> properties, int major) {
        String kind = properties.apply(PROPERTY);
        boolean wide;
        if (kind == null || kind.isBlank()) {
            wide = major == WIDE_BY_DEFAULT_MAJOR;
        } else if (kind.trim().equalsIgnoreCase("wide")) {
            wide = true;
        } else if (kind.trim().equalsIgnoreCase("heuristic")) {
            wide = false;
        } else {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + kind + " is not a cuBLASLt search: use wide "
                    + "(the default on compute capability " + WIDE_BY_DEFAULT_MAJOR + ".x) or heuristic");
        }
        String timing = properties.apply(TIMING_PROPERTY);
        boolean rotate;
        if (timing == null || timing.isBlank() || timing.trim().equalsIgnoreCase("flush")) {
            rotate = false;
        } else if (timing.trim().equalsIgnoreCase("rotate")) {
            rotate = true;
        } else {
            throw new IllegalArgumentException("-D" + TIMING_PROPERTY + "=" + timing + " is not a cuBLASLt timing: use flush "
                    + "(the default) or rotate");
        }
        return new LtSearch(wide, rotate, (int) positive(properties, MAX_ROWS_PROPERTY, DEFAULT_MAX_ROWS),
                (int) positive(properties, MAX_CANDIDATES_PROPERTY, DEFAULT_MAX_CANDIDATES),
                positive(properties, MAX_MILLIS_PROPERTY, DEFAULT_MAX_MILLIS));
    }

    private static long positive(UnaryOperator<String> properties, String name, long fallback) {
        String v = properties.apply(name);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(v.trim());
            if (parsed >= 1 && parsed <= Integer.MAX_VALUE) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + name + "=" + v + " must be a positive integer (default " + fallback + ")");
    }

    /** Whether the wide search runs for {@code bucket} (a {@link LtProblem#bucketed} problem). */
    boolean widens(LtProblem bucket) {
        return wide && bucket.m() <= maxRows;
    }

    /** The key {@code bucket}'s measured choice is kept under, in this process and in {@link LtChoiceStore}. */
    String storeKey(LtProblem bucket) {
        return bucket.cacheKey() + (widens(bucket) ? WIDE_KEY_SUFFIX : "") + (rotate ? ROTATE_KEY_SUFFIX : "");
    }

    /**
     * Weight copies (the weights themselves included) a rotation-timed call cycles through: enough
     * that between two reads of one copy the others stream at least twice the L2
     * ({@code ceil(2 L2 / W) + 1}, at most {@value #MAX_ROTATION_COPIES}: weights that small make a
     * latency-bound product, which L2 hits hardly change); 1 where the weights alone are at least
     * twice the L2 (a GEMM over them evicts its own earlier reads before it needs them again).
     */
    static int rotationCopies(long weightBytes, long l2Bytes) {
        if (weightBytes >= 2 * l2Bytes) {
            return 1;
        }
        return (int) Math.min(MAX_ROTATION_COPIES, (2 * l2Bytes + weightBytes - 1) / weightBytes + 1);
    }

    /** The short form for logs. */
    @Override
    public String toString() {
        return (wide ? String.format(Locale.ROOT, "wide (rows <= %d, <= %d candidates, <= %d ms)", maxRows, maxCandidates,
                maxMillis) : "heuristic") + (rotate ? ", rotating weight copies" : "");
    }
}
