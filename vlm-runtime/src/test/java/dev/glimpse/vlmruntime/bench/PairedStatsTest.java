package dev.glimpse.vlmruntime.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PairedStatsTest {

    @Test
    void medianAndQuartilesInterpolateBetweenOrderStatistics() {
        assertEquals(2, PairedStats.quantile(new double[]{3, 1, 2}, 0.5));
        assertEquals(2.5, PairedStats.quantile(new double[]{4, 1, 3, 2}, 0.5));
        assertEquals(1.75, PairedStats.quantile(new double[]{4, 1, 3, 2}, 0.25));
        assertEquals(3.25, PairedStats.quantile(new double[]{4, 1, 3, 2}, 0.75));
        assertEquals(7, PairedStats.quantile(new double[]{7}, 0.25));
    }

    @Test
    void ratiosPairRoundsSoDriftBetweenRoundsCancels() {
        double[] base = {10, 20, 30};
        double[] variant = {9, 18, 27};
        PairedStats s = PairedStats.of(variant, base);
        assertEquals(18, s.median());
        assertEquals(9, s.min());
        assertEquals(0.9, s.ratioMedian(), 1e-12);
        assertEquals(0.9, s.ratioQ1(), 1e-12);
        assertEquals(0.9, s.ratioQ3(), 1e-12);
        assertEquals(0.9, s.ratioMin(), 1e-12);
        assertEquals(0.9, s.ratioMax(), 1e-12);
    }

    @Test
    void ratioSpreadComesFromThePerRoundRatios() {
        PairedStats s = PairedStats.of(new double[]{11, 10, 9, 12, 10}, new double[]{10, 10, 10, 10, 10});
        assertEquals(1.0, s.ratioMedian(), 1e-12);
        assertEquals(1.0, s.ratioQ1(), 1e-12);
        assertEquals(1.1, s.ratioQ3(), 1e-12);
        assertEquals(0.9, s.ratioMin(), 1e-12);
        assertEquals(1.2, s.ratioMax(), 1e-12);
    }

    @Test
    void theBaseAgainstItselfIsOne() {
        double[] base = {3, 1, 2};
        assertEquals(1.0, PairedStats.of(base, base).ratioMedian());
    }

    @Test
    void needsOneSamplePerRoundOnBothSides() {
        assertThrows(IllegalArgumentException.class, () -> PairedStats.of(new double[]{1, 2}, new double[]{1}));
        assertThrows(IllegalArgumentException.class, () -> PairedStats.of(new double[0], new double[0]));
    }
}
