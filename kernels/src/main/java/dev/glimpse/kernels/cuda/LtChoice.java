package dev.glimpse.kernels.cuda;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Which measured cuBLASLt algorithm a plan keeps: candidates in the heuristic's order, each timed
 * (ms, NaN where it failed to run). A later candidate replaces the one kept so far only when it is
 * faster by more than {@value #TIE_MARGIN} of the kept time, so timing noise between near-equal
 * algorithms resolves to the heuristic's order and a process keeps the same choice run after run
 * unless an algorithm is clearly faster.
 */
final class LtChoice {

    /** Relative speed-up a later candidate needs over the kept one. */
    static final double TIE_MARGIN = 0.03;

    private LtChoice() {
    }

    /**
     * Indices (ascending) of the candidates a long search times again before choosing: the
     * {@code count} fastest that ran, and the heuristic's first (index 0) where it ran. With
     * hundreds timed once, the fastest single timing is partly luck; timing the finalists again
     * and choosing among them only keeps that luck out of the choice.
     */
    static int[] finalists(double[] millis, int count) {
        return IntStream.concat(
                        IntStream.range(0, millis.length).filter(i -> !Double.isNaN(millis[i]))
                                .boxed().sorted(Comparator.comparingDouble(i -> millis[i])).limit(count)
                                .mapToInt(Integer::intValue),
                        millis.length > 0 && !Double.isNaN(millis[0]) ? IntStream.of(0)
                                : IntStream.empty())
                .distinct().sorted().toArray();
    }

    /** Index of the candidate to keep; 0 when none ran (the heuristic's first). */
    static int fastest(double[] millis) {
        int best = -1;
        for (int i = 0; i < millis.length; i++) {
            double t = millis[i];
            if (Double.isNaN(t)) {
                continue;
            }
            if (best < 0 || t < millis[best] * (1 - TIE_MARGIN)) {
                best = i;
            }
        }
        return Math.max(best, 0);
    }
}
