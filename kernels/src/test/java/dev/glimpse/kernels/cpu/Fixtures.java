package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Random inputs, non-contiguous views of them, and tolerant comparisons for the CPU op tests. */
final class Fixtures {

    private Fixtures() {
    }

    static float[] values(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * 1.5);
        }
        return v;
    }

    static Tensor random(Random random, int... shape) {
        return Tensor.of(values(random, (int) Tensor.numel(shape)), shape);
    }

    static Tensor ofDType(DType dtype, float[] values, int... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        t.copyFrom(values);
        return t;
    }

    /** A view with {@code values} whose last dim has stride != 1: a transposed allocation. */
    static Tensor transposed(float[] values, int... shape) {
        int r = shape.length;
        int[] swapped = shape.clone();
        swapped[r - 1] = shape[r - 2];
        swapped[r - 2] = shape[r - 1];
        Tensor view = Tensor.allocate(DType.F32, swapped).transpose(r - 1, r - 2);
        view.copyFrom(values);
        return view;
    }

    /** A view with {@code values} whose rows are packed but not adjacent: a slice of a wider tensor. */
    static Tensor padded(float[] values, int... shape) {
        int r = shape.length;
        int[] wide = shape.clone();
        wide[r - 1] = shape[r - 1] + 3;
        Tensor view = Tensor.allocate(DType.F32, wide).slice(r - 1, 2, 2 + shape[r - 1]);
        view.copyFrom(values);
        return view;
    }

    /** Values rounded through a dtype, as the kernel will see them. */
    static float[] rounded(DType dtype, float[] values) {
        try (Tensor t = ofDType(dtype, values, values.length)) {
            return t.toFloatArray();
        }
    }

    static void assertClose(double[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, "element count");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            if (Double.isNaN(e)) {
                if (!Float.isNaN(actual[i])) {
                    fail("element " + i + ": expected NaN, got " + actual[i]);
                }
                continue;
            }
            if (Math.abs(e - actual[i]) > tolerance * Math.max(1.0, Math.abs(e))) {
                fail("element " + i + ": expected " + e + ", got " + actual[i]);
            }
        }
    }
}
