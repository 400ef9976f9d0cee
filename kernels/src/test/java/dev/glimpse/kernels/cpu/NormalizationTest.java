package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NormalizationTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(11);

    private static double[] softmaxReference(float[] x, int rows, int n) {
        double[] out = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, x[r * n + i]);
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += Math.exp(x[r * n + i] - max);
            }
            for (int i = 0; i < n; i++) {
                out[r * n + i] = Math.exp(x[r * n + i] - max) / sum;
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 17, 129})
    void softmaxMatchesScalarReference(int n) {
        float[] x = Fixtures.values(random, 4 * n);
        try (Tensor tx = Tensor.of(x, 4, n); Tensor out = Tensor.allocate(DType.F32, 4, n)) {
            backend.softmax(tx, out);
            assertClose(softmaxReference(x, 4, n), out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void softmaxIsStableForLargeLogitsAndReadsTransposedInput() {
        float[] x = Fixtures.values(random, 6 * 21);
        for (int i = 0; i < x.length; i++) {
            x[i] += 1000f;
        }
        try (Tensor tx = Fixtures.transposed(x, 6, 21); Tensor out = Tensor.allocate(DType.F32, 6, 21)) {
            backend.softmax(tx, out);
            assertClose(softmaxReference(x, 6, 21), out.toFloatArray(), 1e-5);
        }
    }

    @Test
    void softmaxOfAllMinusInfinityRowIsNaNLikeTorch() {
        float inf = Float.NEGATIVE_INFINITY;
        try (Tensor x = Tensor.of(new float[] {inf, inf, inf, 0f, inf, 0f}, 2, 3); Tensor out = Tensor.allocate(DType.F32, 2, 3)) {
            backend.softmax(x, out);
            assertClose(new double[] {Double.NaN, Double.NaN, Double.NaN, 0.5, 0, 0.5}, out.toFloatArray(), 1e-7);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void layerNormMatchesTorchWithWeightsOfAnyFloatDtype(DType weights) {
        int n = 129;
        float[] x = Fixtures.values(random, 5 * n);
        float[] g = Fixtures.rounded(weights, Fixtures.values(random, n));
        float[] b = Fixtures.rounded(weights, Fixtures.values(random, n));
        float eps = 1e-5f;
        try (Tensor tx = Fixtures.padded(x, 5, n); Tensor tg = Fixtures.ofDType(weights, g, n);
             Tensor tb = Fixtures.ofDType(weights, b, n); Tensor out = Tensor.allocate(DType.F32, 5, n)) {
            backend.layerNorm(tx, tg, tb, eps, out);
            double[] expected = new double[x.length];
            for (int r = 0; r < 5; r++) {
                double mean = 0;
                for (int i = 0; i < n; i++) {
                    mean += x[r * n + i];
                }
                mean /= n;
                double var = 0;
                for (int i = 0; i < n; i++) {
                    var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
                }
                var /= n;
                for (int i = 0; i < n; i++) {
                    expected[r * n + i] = (x[r * n + i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
                }
            }
            assertClose(expected, out.toFloatArray(), 1e-5);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void rmsNormMatchesLlamaRmsNorm(DType weights) {
        int n = 67;
        float[] x = Fixtures.values(random, 3 * n);
        float[] g = Fixtures.rounded(weights, Fixtures.values(random, n));
        float eps = 1e-6f;
        try (Tensor tx = Fixtures.transposed(x, 3, n); Tensor tg = Fixtures.ofDType(weights, g, n);
             Tensor out = Tensor.allocate(DType.F32, 3, n)) {
            backend.rmsNorm(tx, tg, eps, out);
            double[] expected = new double[x.length];
            for (int r = 0; r < 3; r++) {
                double ms = 0;
                for (int i = 0; i < n; i++) {
                    ms += (double) x[r * n + i] * x[r * n + i];
                }
                double scale = 1 / Math.sqrt(ms / n + eps);
                for (int i = 0; i < n; i++) {
                    expected[r * n + i] = x[r * n + i] * scale * g[i];
                }
            }
            assertClose(expected, out.toFloatArray(), 1e-5);
        }
    }

    @Test
    void rmsNormRejectsAWeightOfTheWrongLength() {
        try (Tensor x = Tensor.allocate(DType.F32, 2, 4); Tensor g = Tensor.allocate(DType.F32, 3);
             Tensor out = Tensor.allocate(DType.F32, 2, 4)) {
            TensorException e = assertThrows(TensorException.class, () -> backend.rmsNorm(x, g, 1e-6f, out));
            assertTrue(e.getMessage().contains("[4]"), e.getMessage());
        }
    }

    @Test
    void l2NormReducesTheLastDim() {
        float[] x = Fixtures.values(random, 2 * 3 * 17);
        try (Tensor tx = Tensor.of(x, 2, 3, 17); Tensor out = Tensor.allocate(DType.F32, 2, 3)) {
            backend.l2Norm(tx, out);
            double[] expected = new double[6];
            for (int r = 0; r < 6; r++) {
                double s = 0;
                for (int i = 0; i < 17; i++) {
                    s += (double) x[r * 17 + i] * x[r * 17 + i];
                }
                expected[r] = Math.sqrt(s);
            }
            assertClose(expected, out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void zeroRowsAreANoOp() {
        try (Tensor x = Tensor.allocate(DType.F32, 0, 8); Tensor g = Tensor.allocate(DType.F32, 8);
             Tensor out = Tensor.allocate(DType.F32, 0, 8)) {
            backend.softmax(x, out);
            backend.rmsNorm(x, g, 1e-6f, out);
            backend.layerNorm(x, g, null, 1e-6f, out);
        }
    }
}
