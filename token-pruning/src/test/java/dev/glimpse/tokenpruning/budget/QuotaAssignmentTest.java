package dev.glimpse.tokenpruning.budget;

import dev.glimpse.tokenpruning.TokenGrid;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class QuotaAssignmentTest {

    private static final double[] P = {0.9, 0.1, 0.5};

    @Test
    void weightsAreSquaredPercentagesNormalised() {
        // (100 p)^2 = 8100, 100, 2500; sum 10700
        assertArrayEquals(new double[] {8100 / 10700.0, 100 / 10700.0, 2500 / 10700.0}, QuotaAssignment.weights(P), 1e-15);
    }

    @Test
    void allocationFloorsTheShareOfTheTotal() {
        // 100 * 8100 / 10700 = 75.70, 100 * 100 / 10700 = 0.93, 100 * 2500 / 10700 = 23.36
        assertArrayEquals(new int[] {75, 0, 23}, QuotaAssignment.allocate(P, 100));
    }

    @Test
    void framesWithZeroTokensAreDropped() {
        FrameBudgets b = QuotaAssignment.assign(P, 100);
        assertArrayEquals(new int[] {1}, b.droppedFrames());
        assertEquals(98, b.total());
    }

    @Test
    void equalProbabilitiesSplitExactly() {
        assertArrayEquals(new int[] {33, 33, 33}, QuotaAssignment.allocate(new double[] {0.3, 0.3, 0.3}, 99));
    }

    @Test
    void allZeroProbabilitiesFallBackToUniformWeights() {
        assertArrayEquals(new int[] {50, 50}, QuotaAssignment.allocate(new double[] {0, 0}, 100));
    }

    @Test
    void gridIsTheSquareRootWithOneExtraRowWhenItFits() {
        // 75: h = w = 8; (8 + 1) * 8 = 72 <= 75 -> 9 x 8
        assertEquals(new TokenGrid(9, 8), QuotaAssignment.grid(75));
        // 23: h = w = 4; 5 * 4 = 20 <= 23 -> 5 x 4
        assertEquals(new TokenGrid(5, 4), QuotaAssignment.grid(23));
        // 16: 5 * 4 = 20 > 16 -> 4 x 4
        assertEquals(new TokenGrid(4, 4), QuotaAssignment.grid(16));
        assertEquals(new TokenGrid(14, 14), QuotaAssignment.grid(196));
        assertEquals(new TokenGrid(2, 1), QuotaAssignment.grid(2));
        assertEquals(new TokenGrid(1, 1), QuotaAssignment.grid(1));
    }

    @Test
    void probabilitiesOutsideTheUnitIntervalAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> QuotaAssignment.allocate(new double[] {1.5}, 10));
        assertThrows(IllegalArgumentException.class, () -> QuotaAssignment.grid(0));
    }
}
