package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.global.cublas;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wide cuBLASLt search's order and bounds, over a fake device whose "algorithms" are the
 * points themselves and whose clock advances a fixed step per call. CPU-only.
 */
class LtWideSearchTest {

    private static final int COMPUTE = cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;

    /** A device accepting the points {@code accepts} admits, timing each by {@code millis}; records what was asked. */
    private static final class FakeDevice implements LtWideSearch.Device<LtSearchSpace.Point> {
        final List<LtSearchSpace.Caps> caps;
        final Predicate<LtSearchSpace.Point> accepts;
        final ToDoubleFunction<LtSearchSpace.Point> millis;
        final List<LtSearchSpace.Point> checked = new ArrayList<>();
        final List<LtSearchSpace.Point> timed = new ArrayList<>();
        long nanos;
        long nanosPerCall;

        FakeDevice(List<LtSearchSpace.Caps> caps, Predicate<LtSearchSpace.Point> accepts,
                   ToDoubleFunction<LtSearchSpace.Point> millis) {
            this.caps = caps;
            this.accepts = accepts;
            this.millis = millis;
        }

        @Override
        public List<LtSearchSpace.Caps> capabilities() {
            return caps;
        }

        @Override
        public Optional<LtSearchSpace.Point> build(LtSearchSpace.Point point) {
            nanos += nanosPerCall;
            checked.add(point);
            return accepts.test(point) ? Optional.of(point) : Optional.empty();
        }

        @Override
        public double time(LtSearchSpace.Point candidate) {
            nanos += nanosPerCall;
            timed.add(candidate);
            return millis.applyAsDouble(candidate);
        }

        LtWideSearch.Result<LtSearchSpace.Point> run(List<LtWideSearch.Timed<LtSearchSpace.Point>> seeds, LtSearch limits) {
            return LtWideSearch.run(this, seeds, limits, () -> nanos);
        }
    }

    private static LtSearchSpace.Caps caps(int algoId, int tiles) {
        List<Integer> ids = new ArrayList<>();
        for (int t = 1; t <= tiles; t++) {
            ids.add(t);
        }
        return new LtSearchSpace.Caps(algoId, ids, List.of(1, 2), true, COMPUTE, true, 1);
    }

    private static LtSearch limits(int candidates, long millis) {
        return new LtSearch(true, false, LtSearch.DEFAULT_MAX_ROWS, candidates, millis);
    }

    @Test
    void aSmallSpaceIsSearchedWholeAndTheFastestPointsAreRefined() {
        LtSearchSpace.Caps c = caps(66, 2);
        // tile 2, stages 1, split 4 is fastest: its variants are timed after the coarse points
        FakeDevice device = new FakeDevice(List.of(c), p -> true,
                p -> p.tile() == 2 && p.stages() == 1 && p.splitK() == 4 ? 0.01 : 0.02 + p.tile() * 0.001);
        LtWideSearch.Result<LtSearchSpace.Point> result = device.run(List.of(), limits(1000, 10_000));
        int coarse = LtSearchSpace.coarse(List.of(c)).size();
        assertEquals(device.timed.subList(0, coarse), LtSearchSpace.coarse(List.of(c)), "coarse points first, in order");
        LtSearchSpace.Point best = new LtSearchSpace.Point(66, 2, 1, 4, COMPUTE, 0, 0, 0);
        assertEquals(LtSearchSpace.refinements(best, c).get(0), device.timed.get(coarse), "then the fastest's refinements");
        assertEquals(device.timed.size(), result.report().timed());
        assertEquals(result.timed().size(), new HashSet<>(device.timed).size(), "no point timed twice");
        assertFalse(result.report().countCapped() || result.report().checkCapped() || result.report().timeCapped());
    }

    @Test
    void seedsAreNotTimedAgainButTheirRefinementsAre() {
        LtSearchSpace.Caps c = caps(66, 1);
        LtSearchSpace.Point seed = new LtSearchSpace.Point(66, 1, 1, 1, 0, 0, 0, 0);
        FakeDevice device = new FakeDevice(List.of(c), p -> true, p -> 0.05);
        device.run(List.of(new LtWideSearch.Timed<>(seed, seed, 0.001)), limits(1000, 10_000));
        assertFalse(device.checked.contains(seed));
        assertTrue(device.timed.contains(LtSearchSpace.refinements(seed, c).get(0)), "the fastest seed is refined");
    }

    @Test
    void theTimedCountStaysWithinTheCapAndAQuarterIsLeftForRefinements() {
        FakeDevice device = new FakeDevice(List.of(caps(1, 8), caps(2, 8)), p -> true, p -> 0.02 - p.tile() * 0.001);
        LtWideSearch.Result<LtSearchSpace.Point> result = device.run(List.of(), limits(40, 10_000));
        assertEquals(40, device.timed.size());
        long refinements = device.timed.stream().filter(p -> p.swizzle() != 0 || p.custom() != 0 || p.cluster() != 0).count();
        assertEquals(10, refinements);
        assertTrue(result.report().countCapped());
    }

    @Test
    void aShapeRefusedUnsplitIsNotCheckedAtItsSplitFactors() {
        LtSearchSpace.Caps c = caps(66, 2);
        FakeDevice device = new FakeDevice(List.of(c), p -> p.tile() == 2, p -> 0.01);
        device.run(List.of(), limits(1000, 10_000));
        assertTrue(device.checked.stream().filter(p -> p.tile() == 1).allMatch(p -> p.splitK() == 1),
                "tile 1 is refused unsplit: " + device.checked.stream().filter(p -> p.tile() == 1).toList());
        assertEquals(2 * LtSearchSpace.SPLIT_K.size(), device.checked.stream()
                .filter(p -> p.tile() == 2 && p.swizzle() == 0 && p.custom() == 0 && p.cluster() == 0).count());
    }

    @Test
    void refusedPointsCountAgainstTheCheckCap() {
        FakeDevice device = new FakeDevice(List.of(caps(1, 64)), p -> false, p -> 0.01);
        LtWideSearch.Result<LtSearchSpace.Point> result = device.run(List.of(), limits(2, 10_000));
        assertEquals(2 * LtWideSearch.CHECKS_PER_CANDIDATE, device.checked.size());
        assertEquals(0, result.report().timed());
        assertTrue(result.report().checkCapped());
    }

    @Test
    void theSearchStopsAtItsTimeCap() {
        FakeDevice device = new FakeDevice(List.of(caps(1, 64)), p -> true, p -> 0.01);
        device.nanosPerCall = 1_000_000; // 1 ms per check and per timing
        LtWideSearch.Result<LtSearchSpace.Point> result = device.run(List.of(), limits(1000, 20));
        assertTrue(result.report().timeCapped());
        assertEquals(10, result.report().timed(), "20 ms at 2 ms per point");
        assertTrue(result.report().elapsedMillis() <= 20 + 2, "over by at most one point: " + result.report().elapsedMillis());
        assertTrue(result.report().describe().contains("stopped by the time cap"), result.report().describe());
    }
}
