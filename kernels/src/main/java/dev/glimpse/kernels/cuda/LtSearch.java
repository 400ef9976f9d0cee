package dev.glimpse.kernels.cuda;

import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Which algorithms a measured cuBLASLt plan times, from {@value #PROPERTY} (read when a plan is
 * made): {@code heuristic} (the default) times the heuristic's candidates and their split-K
 * variants ({@link LtPlan}); {@code wide} also times the configurations {@link LtSearchSpace}
 * builds from every algorithm id's capabilities ({@link LtWideSearch}), for problems whose row
 * bucket is at most {@code maxRows} ({@value #MAX_ROWS_PROPERTY}, default {@value #DEFAULT_MAX_ROWS}:
 * the skinny, weight-streaming products where the heuristic is weakest), at most
 * {@code maxCandidates} timed ({@value #MAX_CANDIDATES_PROPERTY}) and {@code maxMillis} spent
 * ({@value #MAX_MILLIS_PROPERTY}) per problem.
 *
 * <p>A widened problem's choice is stored under its own key ({@link #storeKey}), so turning the
 * property off runs the choices the default search made, never the wide search's.
 *
 * @param wide          whether the wide search is on
 * @param maxRows       largest row bucket the wide search takes
 * @param maxCandidates most configurations the wide search times per problem
 * @param maxMillis     most wall-clock milliseconds the wide search spends per problem
 */
record LtSearch(boolean wide, int maxRows, int maxCandidates, long maxMillis) {

    static final String PROPERTY = "glimpse.cuda.ltSearch";
    static final String MAX_ROWS_PROPERTY = "glimpse.cuda.ltSearch.maxRows";
    static final String MAX_CANDIDATES_PROPERTY = "glimpse.cuda.ltSearch.maxCandidates";
    static final String MAX_MILLIS_PROPERTY = "glimpse.cuda.ltSearch.maxMillis";

    static final int DEFAULT_MAX_ROWS = 256;
    static final int DEFAULT_MAX_CANDIDATES = 256;
    static final long DEFAULT_MAX_MILLIS = 2000;

    /** Appended to a widened problem's {@link LtProblem#cacheKey} in the choice store. */
    static final String WIDE_KEY_SUFFIX = " search wide";

    LtSearch {
        if (maxRows < 1 || maxCandidates < 1 || maxMillis < 1) {
            throw new IllegalArgumentException("the wide cuBLASLt search limits must be positive: rows " + maxRows
                    + ", candidates " + maxCandidates + ", ms " + maxMillis);
        }
    }

    /** The search the system properties select now. */
    static LtSearch current() {
        return fromProperties(System::getProperty);
    }

    /** The search {@code properties} (a name to its value, null when unset) select. */
    static LtSearch fromProperties(UnaryOperator<String> properties) {
        String kind = properties.apply(PROPERTY);
        boolean wide;
        if (kind == null || kind.isBlank() || kind.trim().equalsIgnoreCase("heuristic")) {
            wide = false;
        } else if (kind.trim().equalsIgnoreCase("wide")) {
            wide = true;
        } else {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + kind + " is not a cuBLASLt search: use heuristic "
                    + "(the default) or wide");
        }
        return new LtSearch(wide, (int) positive(properties, MAX_ROWS_PROPERTY, DEFAULT_MAX_ROWS),
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
        return bucket.cacheKey() + (widens(bucket) ? WIDE_KEY_SUFFIX : "");
    }

    /** The short form for logs. */
    @Override
    public String toString() {
        return wide ? String.format(Locale.ROOT, "wide (rows <= %d, <= %d candidates, <= %d ms)", maxRows, maxCandidates,
                maxMillis) : "heuristic";
    }
}
