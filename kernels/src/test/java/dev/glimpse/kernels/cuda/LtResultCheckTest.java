package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When a wide-search configuration's output counts as the heuristic's. CPU-only. */
class LtResultCheckTest {

    @Test
    void summationOrderDifferencesAgree() {
        float[] expected = {100f, -50f, 3f};
        float[] actual = {100.01f, -50f, 3.001f};
        assertTrue(LtResultCheck.agrees(expected, actual, DType.F32));
        assertEquals(1e-4, LtResultCheck.normalizedError(expected, actual), 1e-6);
    }

    @Test
    void smallValuesAreMeasuredAgainstOne() {
        assertTrue(LtResultCheck.agrees(new float[] {1e-3f}, new float[] {1.5e-3f}, DType.F32));
    }

    @Test
    void aSixteenBitOutputMayDifferByARoundingStep() {
        float[] expected = {8f, 1f};
        float[] actual = {8.0625f, 1f}; // one bf16 step at 8
        assertFalse(LtResultCheck.agrees(expected, actual, DType.F32));
        assertTrue(LtResultCheck.agrees(expected, actual, DType.BF16));
    }

    @Test
    void aWrongKernelOrALoneNanDisagrees() {
        assertFalse(LtResultCheck.agrees(new float[] {10f, 20f}, new float[] {10f, 0f}, DType.BF16));
        assertFalse(LtResultCheck.agrees(new float[] {10f, 20f}, new float[] {10f, Float.NaN}, DType.F32));
        assertTrue(LtResultCheck.agrees(new float[] {Float.NaN}, new float[] {Float.NaN}, DType.F32));
    }
}
