package dev.glimpse.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Tensor#copyElementsTo}: the bulk path for same-dtype packed tensors and the element path. */
class TensorCopyTest {

    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.37f - 5f;
        }
        return v;
    }

    @Test
    void packedSameDtypeCopyLandsAtTheDestinationsOffset() {
        try (Tensor src = Tensor.of(ramp(2 * 3 * 4), 2, 3, 4); Tensor stack = Tensor.allocate(DType.F32, 3, 2, 3, 4)) {
            src.copyElementsTo(stack.select(0, 1));
            assertArrayEquals(src.toFloatArray(), stack.select(0, 1).toFloatArray());
            assertArrayEquals(new float[24], stack.select(0, 0).toFloatArray());
            assertArrayEquals(new float[24], stack.select(0, 2).toFloatArray());
        }
    }

    @Test
    void packedSourceWithAnOffsetCopiesOnlyItsElements() {
        try (Tensor all = Tensor.of(ramp(4 * 5), 4, 5); Tensor dst = Tensor.allocate(DType.F32, 2, 5)) {
            Tensor rows = all.slice(0, 1, 3);
            rows.copyElementsTo(dst);
            assertArrayEquals(rows.toFloatArray(), dst.toFloatArray());
            assertEquals(all.get(1, 0), dst.get(0, 0));
            assertEquals(all.get(2, 4), dst.get(1, 4));
        }
    }

    @Test
    void stridedSourceTakesTheElementPath() {
        try (Tensor src = Tensor.of(ramp(3 * 4), 3, 4); Tensor dst = Tensor.allocate(DType.F32, 4, 3)) {
            src.transpose(0, 1).copyElementsTo(dst);
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    assertEquals(src.get(i, j), dst.get(j, i));
                }
            }
        }
    }

    @Test
    void otherDtypeIsConverted() {
        try (Tensor src = Tensor.of(new float[] {1f, 1.00390625f, -2.5f, 3.1f}, 4);
             Tensor dst = Tensor.allocate(DType.BF16, 4)) {
            src.copyElementsTo(dst);
            assertArrayEquals(new float[] {1f, 1f, -2.5f, 3.09375f}, dst.toFloatArray());
        }
    }

    @Test
    void sameDtype16BitCopyKeepsTheBits() {
        try (Tensor src = Tensor.allocate(DType.BF16, 3); Tensor dst = Tensor.allocate(DType.BF16, 3)) {
            src.set(1.5f, 0);
            src.set(-0.0078125f, 1);
            src.set(65280f, 2);
            src.copyElementsTo(dst);
            assertArrayEquals(src.toFloatArray(), dst.toFloatArray());
        }
    }

    @Test
    void shapeMismatchIsRefused() {
        try (Tensor src = Tensor.allocate(DType.F32, 2, 3); Tensor dst = Tensor.allocate(DType.F32, 3, 2)) {
            assertThrows(TensorException.class, () -> src.copyElementsTo(dst));
        }
    }
}
