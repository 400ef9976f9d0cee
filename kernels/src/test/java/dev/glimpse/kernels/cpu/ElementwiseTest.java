package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElementwiseTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(7);

    static double reference(Activation f, double x) {
        return switch (f) {
            case RELU -> Math.max(x, 0);
            case SILU -> x / (1 + Math.exp(-x));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU_ERF -> x * 0.5 * (1 + ErfTest.referenceErf(x / Math.sqrt(2)));
        };
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 17, 129, 1000})
    void addMatchesScalarReferenceForOddSizes(int n) {
        float[] a = Fixtures.values(random, 3 * n);
        float[] b = Fixtures.values(random, 3 * n);
        try (Tensor ta = Tensor.of(a, 3, n); Tensor tb = Tensor.of(b, 3, n); Tensor out = Tensor.allocate(DType.F32, 3, n)) {
            backend.add(ta, tb, out);
            double[] expected = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = (double) a[i] + b[i];
            }
            assertClose(expected, out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void mulBroadcastsASuffixOverLeadingDims() {
        float[] a = Fixtures.values(random, 2 * 5 * 7);
        float[] b = Fixtures.values(random, 5 * 7);
        try (Tensor ta = Tensor.of(a, 2, 5, 7); Tensor tb = Tensor.of(b, 5, 7); Tensor out = Tensor.allocate(DType.F32, 2, 5, 7)) {
            backend.mul(ta, tb, out);
            double[] expected = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = (double) a[i] * b[i % b.length];
            }
            assertClose(expected, out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void addReadsTransposedAndBf16Operands() {
        float[] a = Fixtures.values(random, 9 * 19);
        float[] b = Fixtures.rounded(DType.BF16, Fixtures.values(random, 19));
        try (Tensor ta = Fixtures.transposed(a, 9, 19); Tensor tb = Fixtures.ofDType(DType.BF16, b, 19);
             Tensor out = Tensor.allocate(DType.F32, 9, 19)) {
            backend.add(ta, tb, out);
            double[] expected = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = (double) a[i] + b[i % 19];
            }
            assertClose(expected, out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void addRejectsAnOperandThatIsNotASuffix() {
        try (Tensor a = Tensor.allocate(DType.F32, 2, 3); Tensor b = Tensor.allocate(DType.F32, 2);
             Tensor out = Tensor.allocate(DType.F32, 2, 3)) {
            TensorException e = assertThrows(TensorException.class, () -> backend.add(a, b, out));
            assertTrue(e.getMessage().contains("suffix"), e.getMessage());
        }
    }

    @Test
    void scaleWorksInPlaceOnAPaddedView() {
        float[] a = Fixtures.values(random, 4 * 33);
        try (Tensor ta = Fixtures.padded(a, 4, 33); Tensor out = Tensor.allocate(DType.F32, 4, 33)) {
            backend.scale(ta, -0.25f, out);
            double[] expected = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = a[i] * -0.25;
            }
            assertClose(expected, out.toFloatArray(), 1e-7);
        }
        try (Tensor t = Tensor.of(a.clone(), 4, 33)) {
            backend.scale(t, 2f, t);
            assertEquals(a[5] * 2f, t.toFloatArray()[5]);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationMatchesTorchDefinition(Activation f) {
        float[] x = Fixtures.values(random, 3 * 131);
        x[0] = 0f;
        x[1] = -9f;
        x[2] = 9f;
        try (Tensor tx = Tensor.of(x, 3, 131); Tensor out = Tensor.allocate(DType.F32, 3, 131)) {
            backend.activation(f, tx, out);
            double[] expected = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = reference(f, x[i]);
            }
            assertClose(expected, out.toFloatArray(), 1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 17, 37, 131})
    void vectorBodyAndScalarTailGiveTheSameBitsForOddRowLengths(int n) {
        float[] x = Fixtures.values(random, 3 * n);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 12f;
        }
        for (Activation f : Activation.values()) {
            try (Tensor tx = Tensor.of(x, 3, n); Tensor out = Tensor.allocate(DType.F32, 3, n)) {
                backend.activation(f, tx, out);
                float[] got = out.toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Float.floatToIntBits(Elementwise.scalar(f, x[i])), Float.floatToIntBits(got[i]),
                            f + " at x = " + x[i]);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationReadsNonContiguousInputAndMayRunInPlace(Activation f) {
        float[] x = Fixtures.values(random, 7 * 5);
        try (Tensor tx = Fixtures.transposed(x, 7, 5); Tensor out = Tensor.allocate(DType.F32, 7, 5);
             Tensor inPlace = Tensor.of(x.clone(), 7, 5)) {
            backend.activation(f, tx, out);
            backend.activation(f, inPlace, inPlace);
            double[] expected = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = reference(f, x[i]);
            }
            assertClose(expected, out.toFloatArray(), 1e-5);
            assertClose(expected, inPlace.toFloatArray(), 1e-5);
        }
    }

    @Test
    void reluKeepsNaN() {
        try (Tensor x = Tensor.of(new float[] {Float.NaN, -1f, 2f}, 3); Tensor out = Tensor.allocate(DType.F32, 3)) {
            backend.activation(Activation.RELU, x, out);
            float[] r = out.toFloatArray();
            assertTrue(Float.isNaN(r[0]));
            assertEquals(0f, r[1]);
            assertEquals(2f, r[2]);
        }
    }

    @Test
    void gatedActivationIsSiluOfGateTimesUpAndMayOverwriteUp() {
        float[] g = Fixtures.values(random, 5 * 67);
        float[] u = Fixtures.values(random, 5 * 67);
        try (Tensor tg = Tensor.of(g, 5, 67); Tensor tu = Tensor.of(u, 5, 67)) {
            backend.gatedActivation(Activation.SILU, tg, tu, tu);
            double[] expected = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                expected[i] = reference(Activation.SILU, g[i]) * u[i];
            }
            assertClose(expected, tu.toFloatArray(), 1e-5);
        }
    }

    @Test
    void largeInputsCrossTheParallelThreshold() {
        int rows = 300;
        int n = 1031;
        float[] a = Fixtures.values(random, rows * n);
        try (Tensor ta = Tensor.of(a, rows, n); Tensor out = Tensor.allocate(DType.F32, rows, n)) {
            backend.activation(Activation.GELU_TANH, ta, out);
            double[] expected = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                expected[i] = reference(Activation.GELU_TANH, a[i]);
            }
            assertClose(expected, out.toFloatArray(), 1e-5);
        }
    }
}
