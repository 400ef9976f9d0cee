package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The CPU reference of the fused linear layers ({@link dev.glimpse.kernels.Backend#linearActivation},
 * {@link dev.glimpse.kernels.Backend#linearAddResidual}): each is exactly its composition of
 * {@code linear}, {@code activation} and {@code add}, bit for bit.
 */
class LinearEpilogueReferenceTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(41);

    @ParameterizedTest(name = "{0} weights, {1}, out {2}, bias {3}")
    @CsvSource({"BF16, GELU_TANH, F32, true", "BF16, GELU_TANH, BF16, true", "F16, QUICK_GELU, F16, false",
            "F32, GELU_ERF, F32, true", "BF16, QUICK_GELU, F32, false"})
    void linearActivationIsLinearThenActivation(DType wType, Activation f, DType outType, boolean withBias) {
        int m = 7;
        int n = 48;
        int k = 40;
        Tensor x = Fixtures.random(random, m, k);
        Tensor w = Fixtures.ofDType(wType, Fixtures.values(random, n * k), n, k);
        Tensor bias = withBias ? Fixtures.random(random, n) : null;
        Tensor pre = Tensor.allocate(DType.F32, m, n);
        Tensor expected = Tensor.allocate(outType, m, n);
        Tensor fused = Tensor.allocate(outType, m, n);
        backend.linear(x, w, bias, pre);
        backend.activation(f, pre, expected);
        backend.linearActivation(f, x, w, bias, fused);
        assertArrayEquals(expected.toFloatArray(), fused.toFloatArray(), "linearActivation " + f + " -> " + outType);
    }

    @ParameterizedTest(name = "{0} weights, bias {1}")
    @CsvSource({"BF16, true", "F16, false", "F32, true"})
    void linearAddResidualIsLinearThenAdd(DType wType, boolean withBias) {
        int m = 6;
        int n = 32;
        int k = 24;
        Tensor x = Fixtures.random(random, m, k);
        Tensor w = Fixtures.ofDType(wType, Fixtures.values(random, n * k), n, k);
        Tensor bias = withBias ? Fixtures.random(random, n) : null;
        Tensor residual = Fixtures.random(random, m, n);
        Tensor projected = Tensor.allocate(DType.F32, m, n);
        Tensor expected = Tensor.allocate(DType.F32, m, n);
        Tensor out = Tensor.allocate(DType.F32, m, n);
        backend.linear(x, w, bias, projected);
        backend.add(residual, projected, expected);
        backend.linearAddResidual(x, w, bias, residual, out);
        assertArrayEquals(expected.toFloatArray(), out.toFloatArray(), "linearAddResidual " + wType);
    }
}
