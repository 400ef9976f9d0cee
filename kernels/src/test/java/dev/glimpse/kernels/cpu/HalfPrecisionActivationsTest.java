package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.GemmInputs;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The CPU backend's 16-bit activations: norms and activations writing F16/BF16 store exactly the
 * round-to-nearest-even of their F32 result, and linear reads F16/BF16 x exactly as the same values
 * in F32. The rounding reference here is written independently of {@link DType}: the nearer of the
 * two neighbouring bf16 values in double arithmetic (ties to an even mantissa), and the JDK's
 * {@link Float#floatToFloat16} for F16.
 */
class HalfPrecisionActivationsTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(23);

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void layerNormRoundsItsF32ResultOnStore(DType dtype) {
        Tensor gamma = Fixtures.ofDType(DType.BF16, Fixtures.values(random, 77), 77);
        Tensor beta = Fixtures.random(random, 77);
        assertRoundsF32Result(dtype, new int[] {5, 77}, (x, out) -> backend.layerNorm(x, gamma, beta, 1e-6f, out));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void rmsNormRoundsItsF32ResultOnStore(DType dtype) {
        Tensor gamma = Fixtures.random(random, 130);
        assertRoundsF32Result(dtype, new int[] {3, 130}, (x, out) -> backend.rmsNorm(x, gamma, 1e-5f, out));
    }

    @ParameterizedTest
    @CsvSource({"BF16, GELU_TANH", "F16, GELU_TANH", "BF16, GELU_ERF", "BF16, SILU", "F16, QUICK_GELU"})
    void activationRoundsItsF32ResultOnStore(DType dtype, Activation f) {
        assertRoundsF32Result(dtype, new int[] {4, 2, 45}, (x, out) -> backend.activation(f, x, out));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void gatedActivationRoundsItsF32ResultOnStore(DType dtype) {
        Tensor up = Fixtures.random(random, 6, 70);
        assertRoundsF32Result(dtype, new int[] {6, 70}, (gate, out) -> backend.gatedActivation(Activation.SILU, gate, up, out));
    }

    @ParameterizedTest(name = "{0} x and weights, m={1}")
    @CsvSource({"BF16, 3", "BF16, 20", "F16, 1", "F16, 20"})
    void linearReadsHalfXAsItsWidenedValues(DType dtype, int m) {
        int k = 67;
        int n = 19;
        try (Tensor x = Fixtures.ofDType(dtype, Fixtures.values(random, m * k), m, k);
             Tensor w = Fixtures.ofDType(dtype, Fixtures.values(random, n * k), n, k);
             Tensor bias = Fixtures.ofDType(dtype, Fixtures.values(random, n), n);
             Tensor widened = Tensor.of(x.toFloatArray(), m, k);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor out = Tensor.allocate(DType.F32, m, n)) {
            backend.linear(widened, w, bias, expected);
            backend.linear(x, w, bias, out);
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
        }
    }

    @Test
    void linearReadsATransposedHalfXView() {
        int m = 12;
        int k = 33;
        float[] values = Fixtures.values(random, m * k);
        try (Tensor stored = Fixtures.ofDType(DType.BF16, values, k, m);
             Tensor w = Fixtures.ofDType(DType.BF16, Fixtures.values(random, 9 * k), 9, k);
             Tensor widened = Tensor.allocate(DType.F32, m, k);
             Tensor expected = Tensor.allocate(DType.F32, m, 9);
             Tensor out = Tensor.allocate(DType.F32, m, 9)) {
            Tensor x = stored.transpose(0, 1);
            x.copyElementsTo(widened);
            backend.linear(widened, w, null, expected);
            backend.linear(x, w, null, out);
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
        }
    }

    @ParameterizedTest(name = "x {0}, w {1}")
    @CsvSource({"F16, BF16", "BF16, F16", "BF16, F32", "I32, I32"})
    void linearRejectsXOfAnotherDTypeThanF32OrTheWeights(DType xType, DType wType) {
        try (Tensor x = Tensor.allocate(xType, 2, 8); Tensor w = Tensor.allocate(wType, 3, 8);
             Tensor out = Tensor.allocate(DType.F32, 2, 3)) {
            assertThrows(TensorException.class, () -> backend.linear(x, w, null, out));
        }
    }

    @Test
    void normOutputMustStillBeFloatingPoint() {
        try (Tensor x = Fixtures.random(random, 2, 8); Tensor gamma = Fixtures.random(random, 8);
             Tensor out = Tensor.allocate(DType.I32, 2, 8)) {
            assertThrows(TensorException.class, () -> backend.rmsNorm(x, gamma, 1e-6f, out));
        }
    }

    @Test
    void cpuProductsReadF32ActivationsSoModelsKeepThem() {
        try (Tensor w = Tensor.allocate(DType.BF16, 4, 4)) {
            assertFalse(backend.halfActivationsForGemm(4096));
            assertEquals(DType.F32, GemmInputs.dtype(backend, 4096, w));
        }
    }

    /** Runs op into an F32 and a dtype output from the same random x; the latter must be the former rounded. */
    private void assertRoundsF32Result(DType dtype, int[] shape, BiConsumer<Tensor, Tensor> op) {
        try (Tensor x = Fixtures.random(random, shape);
             Tensor f32 = Tensor.allocate(DType.F32, shape);
             Tensor half = Tensor.allocate(dtype, shape)) {
            op.accept(x, f32);
            op.accept(x, half);
            float[] exact = f32.toFloatArray();
            float[] stored = half.toFloatArray();
            for (int i = 0; i < exact.length; i++) {
                float expected = dtype == DType.BF16 ? bf16Reference(exact[i]) : Float.float16ToFloat(Float.floatToFloat16(exact[i]));
                assertEquals(expected, stored[i], 0f, "element " + i + " of " + exact[i]);
            }
        }
    }

    /** The bf16 value nearest to finite v, ties to the one with an even last mantissa bit. */
    static float bf16Reference(float v) {
        int bits = Float.floatToRawIntBits(v);
        float down = Float.intBitsToFloat(bits & 0xFFFF0000);
        float up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000);
        double below = Math.abs((double) v - down);
        double above = Math.abs((double) up - v);
        if (below != above) {
            return below < above ? down : up;
        }
        return (Float.floatToRawIntBits(down) & 0x10000) == 0 ? down : up;
    }
}
