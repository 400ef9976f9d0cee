package dev.glimpse.kernels.cuda;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The wide cuBLASLt search of one problem ({@link LtSearch#wide}): after the default candidates
 * (the seeds, timed already) it checks and times the {@link LtSearchSpace#coarse} points of every
 * algorithm id, then the {@link LtSearchSpace#refinements} of the {@value #REFINED} fastest points
 * seen (seeds included), never a point twice. A tile and stages pair that cuBLASLt refuses
 * unsplit is not checked at its split-K factors (refused unsplit, a kernel shape does not exist
 * for the problem). Bounded three ways, each reported: at most
 * {@link LtSearch#maxCandidates} points timed (a quarter of them kept for the refinements), at most
 * {@value #CHECKS_PER_CANDIDATE} x that many points checked (most points of most algorithms are
 * refused for a given problem), and at most {@link LtSearch#maxMillis} of wall-clock time from the
 * start of the search, looked at before every check.
 *
 * <p>cuBLASLt and the GPU stay behind {@link Device}, so the order and the bounds are tested
 * without them.
 */
final class LtWideSearch {

    /** Fastest points whose refinements are timed. */
    static final int REFINED = 4;

    /** Points checked per point the cap lets time. */
    static final int CHECKS_PER_CANDIDATE = 32;

    private LtWideSearch() {
    }

    /**
     * What the search asks of cuBLASLt and the GPU for one problem.
     *
     * @param <C> a runnable algorithm (owned by the caller once built)
     */
    interface Device<C> {

        /** The capabilities of every algorithm id for the problem's types. */
        List<LtSearchSpace.Caps> capabilities();

        /** The algorithm {@code point} describes where {@code cublasLtMatmulAlgoCheck} accepts it within the workspace. */
        Optional<C> build(LtSearchSpace.Point point);

        /** Milliseconds per call of {@code candidate}; NaN where it fails to run. */
        double time(C candidate);
    }

    /** A timed configuration. */
    record Timed<C>(LtSearchSpace.Point point, C candidate, double millis) {
    }

    /**
     * What a search did: algorithm ids asked about, points checked, accepted and timed, the
     * wall-clock time taken, and which bound stopped it (none: the space was exhausted).
     */
    record Report(int algorithms, int checked, int accepted, int timed, long elapsedMillis, boolean countCapped,
                  boolean checkCapped, boolean timeCapped, LtSearch limits) {

        /** The line for the log. */
        String describe() {
            return String.format(Locale.ROOT, "%d algorithm ids, %d configurations checked, %d accepted, %d timed in %d ms "
                            + "(caps %d timed, %d checked, %d ms%s)", algorithms, checked, accepted, timed, elapsedMillis,
                    limits.maxCandidates(), (long) limits.maxCandidates() * CHECKS_PER_CANDIDATE, limits.maxMillis(),
                    countCapped ? "; stopped by the timed cap" : checkCapped ? "; stopped by the checked cap"
                            : timeCapped ? "; stopped by the time cap" : "");
        }
    }

    /** The configurations built (each timed, the caller owns them) and the report. */
    record Result<C>(List<Timed<C>> timed, Report report) {
    }

    /** Searches beyond {@code seeds}, within {@code limits}; {@code nanoClock} is {@link System#nanoTime} outside tests. */
    static <C> Result<C> run(Device<C> device, List<Timed<C>> seeds, LtSearch limits, LongSupplier nanoClock) {
        return new Run<>(device, limits, nanoClock).search(seeds);
    }

    /** One search's state. */
    private static final class Run<C> {
        private final Device<C> device;
        private final LtSearch limits;
        private final LongSupplier clock;
        private final long start;
        private final Set<LtSearchSpace.Point> seen = new HashSet<>();
        /** Coarse unsplit points refused: their split-K factors are not checked. */
        private final Set<LtSearchSpace.Point> refusedShapes = new HashSet<>();
        private final List<Timed<C>> timed = new ArrayList<>();
        private int checked;
        private int accepted;
        private boolean countCapped;
        private boolean checkCapped;
        private boolean timeCapped;

        Run(Device<C> device, LtSearch limits, LongSupplier clock) {
            this.device = device;
            this.limits = limits;
            this.clock = clock;
            this.start = clock.getAsLong();
        }

        Result<C> search(List<Timed<C>> seeds) {
            seeds.forEach(s -> seen.add(s.point()));
            List<LtSearchSpace.Caps> caps = device.capabilities();
            Map<Integer, LtSearchSpace.Caps> byId = new HashMap<>();
            caps.forEach(c -> byId.putIfAbsent(c.algoId(), c));
            int refineShare = limits.maxCandidates() / 4;
            tryAll(LtSearchSpace.coarse(caps), limits.maxCandidates() - refineShare);
            List<Timed<C>> fastest = new ArrayList<>(seeds);
            fastest.addAll(timed);
            fastest.removeIf(t -> Double.isNaN(t.millis()) || !byId.containsKey(t.point().algoId()));
            fastest.sort(Comparator.comparingDouble(Timed::millis));
            for (Timed<C> t : fastest.subList(0, Math.min(REFINED, fastest.size()))) {
                if (!tryAll(LtSearchSpace.refinements(t.point(), byId.get(t.point().algoId())), limits.maxCandidates())) {
                    break;
                }
            }
            long elapsed = (clock.getAsLong() - start) / 1_000_000;
            return new Result<>(List.copyOf(timed), new Report(byId.size(), checked, accepted, timed.size(), elapsed,
                    countCapped, checkCapped, timeCapped, limits));
        }

        /** Checks and times {@code points} until {@code timedCap} are timed or a bound is hit; false once a bound stops it. */
        private boolean tryAll(List<LtSearchSpace.Point> points, int timedCap) {
            for (LtSearchSpace.Point p : points) {
                if (seen.contains(p) || coarse(p) && refusedShapes.contains(shape(p))) {
                    continue;
                }
                if (timed.size() >= timedCap) {
                    countCapped = timedCap >= limits.maxCandidates();
                    return !countCapped;
                }
                if (checked >= (long) limits.maxCandidates() * CHECKS_PER_CANDIDATE) {
                    checkCapped = true;
                    return false;
                }
                if (clock.getAsLong() - start >= limits.maxMillis() * 1_000_000) {
                    timeCapped = true;
                    return false;
                }
                seen.add(p);
                checked++;
                Optional<C> built = device.build(p);
                if (built.isPresent()) {
                    accepted++;
                    timed.add(new Timed<>(p, built.get(), device.time(built.get())));
                } else if (p.equals(shape(p))) {
                    refusedShapes.add(p);
                }
            }
            return true;
        }

        /** Whether p keeps swizzle, custom option and cluster shape at their defaults, as coarse points do. */
        private static boolean coarse(LtSearchSpace.Point p) {
            return p.swizzle() == 0 && p.custom() == 0 && p.cluster() == 0;
        }

        /** The coarse unsplit point of p's algorithm, tile and stages. */
        private static LtSearchSpace.Point shape(LtSearchSpace.Point p) {
            return new LtSearchSpace.Point(p.algoId(), p.tile(), p.stages(), 1, 0, 0, 0, 0);
        }
    }
}
