package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which timed cuBLASLt candidate a plan keeps. CPU-only. */
class LtChoiceTest {

    @Test
    void aClearlyFasterCandidateWins() {
        assertEquals(2, LtChoice.fastest(new double[] {0.050, 0.049, 0.040, 0.045}));
    }

    @Test
    void nearTiesGoToTheHeuristicsOrder() {
        assertEquals(0, LtChoice.fastest(new double[] {0.0500, 0.0490, 0.0495}));
        assertEquals(1, LtChoice.fastest(new double[] {0.0500, 0.0480, 0.0470}));
    }

    @Test
    void candidatesThatDidNotRunAreSkipped() {
        assertEquals(1, LtChoice.fastest(new double[] {Double.NaN, 0.06, Double.NaN, 0.059}));
    }

    @Test
    void theHeuristicsFirstIsKeptWhenNothingRan() {
        assertEquals(0, LtChoice.fastest(new double[] {Double.NaN, Double.NaN}));
        assertEquals(0, LtChoice.fastest(new double[0]));
    }

    @Test
    void finalistsAreTheFastestThatRanAndTheHeuristicsFirst() {
        assertArrayEquals(new int[] {0, 2, 4}, LtChoice.finalists(new double[] {0.09, 0.08, 0.01, Double.NaN, 0.02}, 2));
        assertArrayEquals(new int[] {0, 1}, LtChoice.finalists(new double[] {0.01, 0.02, 0.03}, 2));
        assertArrayEquals(new int[] {1}, LtChoice.finalists(new double[] {Double.NaN, 0.02}, 4));
    }
}
