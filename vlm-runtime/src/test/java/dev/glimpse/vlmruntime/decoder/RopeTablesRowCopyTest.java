package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.RopeParameters;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code -Dglimpse.cuda.ropeRowCopy=true}: a fill whose positions are one consecutive run inside the
 * precomputed rows copies the table's rows, giving exactly the rows the gather gives; positions
 * with gaps, and positions past the precomputed rows, take the paths they took before.
 */
class RopeTablesRowCopyTest {

    private static final int HEAD_DIM = 64;
    private static final int PRECOMPUTED = 128;

    @AfterEach
    void propertyBack() {
        System.clearProperty(RopeTables.ROW_COPY_PROPERTY);
    }

    @Test
    void aRunFromZeroCopiesTheGatheredRows() {
        assertSameRows(range(0, 74));
    }

    @Test
    void aRunPastTheFirstRowCopiesTheGatheredRows() {
        assertSameRows(range(40, 34));
    }

    @Test
    void aRunEndingAtTheLastPrecomputedRowCopiesTheGatheredRows() {
        assertSameRows(range(PRECOMPUTED - 10, 10));
    }

    @Test
    void positionsWithAGapGiveTheGatheredRows() {
        assertSameRows(new int[] {0, 1, 2, 5, 6, 9});
    }

    @Test
    void positionsPastThePrecomputedRowsGiveTheComputedRows() {
        assertSameRows(range(PRECOMPUTED - 3, 8));
    }

    @Test
    void isRunAcceptsOnlyConsecutivePositions() {
        assertTrue(RopeTables.isRun(new int[] {7}));
        assertTrue(RopeTables.isRun(range(3, 5)));
        assertFalse(RopeTables.isRun(new int[0]));
        assertFalse(RopeTables.isRun(new int[] {0, 2, 3}));
        assertFalse(RopeTables.isRun(new int[] {3, 2}));
    }

    @Test
    void aMisspelledValueIsRefused() {
        System.setProperty(RopeTables.ROW_COPY_PROPERTY, "yes");
        assertThrows(IllegalArgumentException.class, RopeTables::rowCopy);
    }

    /** Fills {@code positions} with the property off, then on, on the CPU backend: the same cos and sin values. */
    private static void assertSameRows(int[] positions) {
        try (CpuBackend cpu = new CpuBackend();
             RopeTables rope = new RopeTables(cpu, RopeParameters.standard(10000.0, HEAD_DIM, 4096), PRECOMPUTED)) {
            float[][] gathered = fill(cpu, rope, positions, false);
            float[][] copied = fill(cpu, rope, positions, true);
            assertArrayEquals(gathered[0], copied[0], "cos");
            assertArrayEquals(gathered[1], copied[1], "sin");
        }
    }

    private static float[][] fill(CpuBackend cpu, RopeTables rope, int[] positions, boolean rowCopy) {
        System.setProperty(RopeTables.ROW_COPY_PROPERTY, Boolean.toString(rowCopy));
        int half = rope.rotaryDim() / 2;
        try (Tensor cos = Tensor.allocate(DType.F32, positions.length, half);
             Tensor sin = Tensor.allocate(DType.F32, positions.length, half)) {
            rope.fill(cpu, positions, cos, sin);
            return new float[][] {cos.toFloatArray(), sin.toFloatArray()};
        }
    }

    private static int[] range(int first, int count) {
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = first + i;
        }
        return out;
    }
}
