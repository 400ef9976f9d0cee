package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.GemmInputs;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.BiConsumer;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.ROUNDED_X;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.converted;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.rounded;
import static dev.glimpse.kernels.cuda.CudaTestSupport.runFromGraph;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The prefill/vision GEMM of 16-bit weights: cuBLASLt with the bias in its epilogue
 * ({@link CudaLtMatmul}), x given in F32 or already in the weights' dtype, and the 16-bit outputs of
 * the norms and activations that feed it.
 *
 * <p>Against the CPU, x is first rounded to the weights' dtype on the host, so the CPU computes the
 * same products exactly and only the summation order differs: {@link CudaTestSupport#ROUNDED_X} (1e-3 of the
 * largest output) is far below what a missing or doubled bias (0.1-scale values, about 1e-2 of the
 * largest output here) or a transposed operand would cost.
 */
class CudaLinearEpilogueTest {

    @ParameterizedTest(name = "{0} weights, m={1} n={2} k={3}")
    @CsvSource({
            "BF16, 9, 64, 64", "F16, 9, 64, 64", "BF16, 64, 64, 64", "F16, 64, 1152, 1152",
            "BF16, 577, 1152, 1152", "F16, 577, 1152, 1152", "BF16, 577, 4304, 1152", "BF16, 577, 1152, 4304",
            "F16, 577, 4304, 1152", "F16, 577, 1152, 4304", "BF16, 2000, 1152, 1152", "BF16, 2000, 4304, 1152",
            "F16, 2000, 1152, 4304", "BF16, 9, 72, 72", "F16, 64, 72, 1152", "BF16, 577, 1152, 72",
            "BF16, 2000, 72, 72", "F16, 577, 75, 77", "BF16, 13, 4304, 1152"})
    void ltLinearWithBiasMatchesCpuOnRoundedX(DType wType, int m, int n, int k) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(11, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, wType);
             Tensor w = random(12, 0.05f, wType, n, k);
             Tensor bias = random(13, 0.1f, wType, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(xRounded, w, bias, expected);
            gpu.linear(gx, gw, gb, out);
            assertClose("lt linear " + wType + " m=" + m + " n=" + n + " k=" + k, expected, out, ROUNDED_X);
        }
    }

    @ParameterizedTest(name = "{0} x and weights, m={1}")
    @CsvSource({"BF16, 9", "BF16, 577", "F16, 64", "F16, 2000"})
    void halfXGivesTheBitsOfF32XOnTheGemmPath(DType dtype, int m) {
        CudaBackend gpu = cuda();
        int n = 1152;
        int k = 1152;
        try (Tensor x = random(21, 1f, DType.F32, m, k);
             Tensor xHalf = converted(x, dtype);
             Tensor w = random(22, 0.05f, dtype, n, k);
             Tensor bias = random(23, 0.1f, dtype, n);
             Tensor gx = gpu.upload(x); Tensor gxHalf = gpu.upload(xHalf); Tensor gw = gpu.upload(w);
             Tensor gb = gpu.upload(bias);
             Tensor fromF32 = gpu.allocate(DType.F32, m, n); Tensor fromHalf = gpu.allocate(DType.F32, m, n)) {
            gpu.linear(gx, gw, gb, fromF32);
            gpu.linear(gxHalf, gw, gb, fromHalf);
            assertBitsEqual("linear " + dtype + " x vs F32 x, m=" + m, fromF32, fromHalf);
        }
    }

    @ParameterizedTest(name = "{0} x and weights, m={1}")
    @CsvSource({"BF16, 1", "BF16, 8", "F16, 5"})
    void halfXOnTheGemvPathIsReadAsItsWidenedValues(DType dtype, int m) {
        CudaBackend gpu = cuda();
        int n = 896;
        int k = 896;
        try (Tensor x = random(31, 1f, dtype, m, k);
             Tensor widened = converted(x, DType.F32);
             Tensor w = random(32, 0.05f, dtype, n, k);
             Tensor gx = gpu.upload(x); Tensor gWidened = gpu.upload(widened); Tensor gw = gpu.upload(w);
             Tensor fromHalf = gpu.allocate(DType.F32, m, n); Tensor fromF32 = gpu.allocate(DType.F32, m, n)) {
            gpu.linear(gWidened, gw, null, fromF32);
            gpu.linear(gx, gw, null, fromHalf);
            assertBitsEqual("gemv " + dtype + " x vs widened F32 x, m=" + m, fromF32, fromHalf);
        }
    }

    @ParameterizedTest(name = "bias {0}")
    @CsvSource({"F32", "BF16", "F16", "NONE", "F32_MISALIGNED"})
    void biasOfAnyDTypeOrAlignmentIsAddedOnce(String biasKind) {
        CudaBackend gpu = cuda();
        int m = 100;
        int n = 1152;
        int k = 256;
        DType biasType = switch (biasKind) {
            case "BF16" -> DType.BF16;
            case "F16" -> DType.F16;
            default -> DType.F32;
        };
        try (Tensor x = random(41, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, DType.BF16);
             Tensor w = random(42, 0.05f, DType.BF16, n, k);
             Tensor biasStore = random(43, 0.5f, biasType, n + 1);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gBiasStore = gpu.upload(biasStore);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            int start = biasKind.equals("F32_MISALIGNED") ? 1 : 0;
            Tensor bias = biasKind.equals("NONE") ? null : biasStore.slice(0, start, start + n);
            Tensor gBias = bias == null ? null : gBiasStore.slice(0, start, start + n);
            CPU.linear(xRounded, w, bias, expected);
            gpu.linear(gx, gw, gBias, out);
            assertClose("lt linear bias " + biasKind, expected, out, ROUNDED_X);
        }
    }

    @Test
    void weightRowsWithAPaddedStrideAreReadInPlace() {
        CudaBackend gpu = cuda();
        int m = 300;
        int n = 256;
        int k = 192;
        try (Tensor x = random(51, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, DType.BF16);
             Tensor wide = random(52, 0.05f, DType.BF16, n + 8, k + 64);
             Tensor bias = random(53, 0.1f, DType.F32, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gWide = gpu.upload(wide); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            Tensor w = wide.slice(0, 8, 8 + n).slice(1, 0, k);
            Tensor gw = gWide.slice(0, 8, 8 + n).slice(1, 0, k);
            CPU.linear(xRounded, w, bias, expected);
            gpu.linear(gx, gw, gb, out);
            assertClose("lt linear strided weight rows", expected, out, ROUNDED_X);
        }
    }

    @Test
    void ltLinearReplaysFromAGraphWithTheSameBits() {
        CudaBackend gpu = cuda();
        int m = 729;
        int n = 1152;
        int k = 1152;
        try (Tensor x = random(61, 1f, DType.F32, m, k);
             Tensor w = random(62, 0.05f, DType.BF16, n, k);
             Tensor bias = random(63, 0.1f, DType.BF16, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor direct = gpu.allocate(DType.F32, m, n); Tensor replayed = gpu.allocate(DType.F32, m, n)) {
            gpu.linear(gx, gw, gb, direct);
            runFromGraph(() -> gpu.linear(gx, gw, gb, replayed));
            assertBitsEqual("lt linear graph replay", direct, replayed);
        }
    }

    @Test
    void aBudgetTooSmallForTheWorkspaceStillRunsTheLtLinear() {
        cuda();
        int m = 64;
        int n = 96;
        int k = 128;
        try (CudaBackend small = CudaBackend.open(new CudaOptions(0, 4L << 20));
             Tensor x = random(81, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, DType.BF16);
             Tensor w = random(82, 0.05f, DType.BF16, n, k);
             Tensor bias = random(83, 0.1f, DType.BF16, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n)) {
            CPU.linear(xRounded, w, bias, expected);
            try (Tensor gx = small.upload(x); Tensor gw = small.upload(w); Tensor gb = small.upload(bias);
                 Tensor out = small.allocate(DType.F32, m, n)) {
                small.linear(gx, gw, gb, out);
                try (Tensor host = small.download(out)) {
                    assertClose("lt linear without workspace", expected, host, ROUNDED_X);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void layerNormHalfOutputIsItsF32OutputRounded(DType dtype) {
        CudaBackend gpu = cuda();
        try (Tensor gamma = random(71, 1f, DType.BF16, 1152); Tensor beta = random(72, 1f, DType.BF16, 1152);
             Tensor gg = gpu.upload(gamma); Tensor gb = gpu.upload(beta)) {
            assertHalfOutput("layerNorm", dtype, new int[] {37, 1152},
                    (x, out) -> gpu.layerNorm(x, gg, gb, 1e-6f, out), (x, out) -> CPU.layerNorm(x, gamma, beta, 1e-6f, out));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void rmsNormHalfOutputIsItsF32OutputRounded(DType dtype) {
        CudaBackend gpu = cuda();
        try (Tensor gamma = random(73, 1f, DType.BF16, 896); Tensor gg = gpu.upload(gamma)) {
            assertHalfOutput("rmsNorm", dtype, new int[] {21, 896},
                    (x, out) -> gpu.rmsNorm(x, gg, 1e-6f, out), (x, out) -> CPU.rmsNorm(x, gamma, 1e-6f, out));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"BF16, GELU_TANH", "F16, GELU_TANH", "BF16, GELU_ERF", "F16, SILU"})
    void activationHalfOutputIsItsF32OutputRounded(DType dtype, Activation f) {
        CudaBackend gpu = cuda();
        assertHalfOutput("activation " + f, dtype, new int[] {29, 4304},
                (x, out) -> gpu.activation(f, x, out), (x, out) -> CPU.activation(f, x, out));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void gatedActivationHalfOutputIsItsF32OutputRounded(DType dtype) {
        CudaBackend gpu = cuda();
        try (Tensor up = random(74, 1f, DType.F32, 17, 4864); Tensor gUp = gpu.upload(up)) {
            assertHalfOutput("gatedActivation", dtype, new int[] {17, 4864},
                    (gate, out) -> gpu.gatedActivation(Activation.SILU, gate, gUp, out),
                    (gate, out) -> CPU.gatedActivation(Activation.SILU, gate, up, out));
        }
    }

    @Test
    void cudaAsksForHalfGemmInputsAboveTheGemvRows() {
        CudaBackend gpu = cuda();
        try (Tensor bf16 = gpu.allocate(DType.BF16, 4, 4); Tensor f16 = gpu.allocate(DType.F16, 4, 4);
             Tensor f32 = gpu.allocate(DType.F32, 4, 4)) {
            assertEquals(DType.BF16, GemmInputs.dtype(gpu, CudaGemm.GEMV_MAX_ROWS + 1, bf16, bf16));
            assertEquals(DType.F16, GemmInputs.dtype(gpu, 4096, f16));
            assertEquals(DType.F32, GemmInputs.dtype(gpu, CudaGemm.GEMV_MAX_ROWS, bf16));
            assertEquals(DType.F32, GemmInputs.dtype(gpu, 4096, bf16, f16));
            assertEquals(DType.F32, GemmInputs.dtype(gpu, 4096, f32));
        }
    }

    /**
     * Runs the op on the GPU into F32 and into dtype from the same x: the dtype output must be the F32
     * one rounded to nearest even, bit for bit; and it must match the CPU's dtype output within one
     * rounding step (the F32 results differ in their last bits, which can move a rounding).
     */
    private static void assertHalfOutput(String label, DType dtype, int[] shape, BiConsumer<Tensor, Tensor> gpuOp,
                                         BiConsumer<Tensor, Tensor> cpuOp) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(75, 2f, DType.F32, shape);
             Tensor cpuHalf = Tensor.allocate(dtype, shape);
             Tensor gx = gpu.upload(x);
             Tensor gF32 = gpu.allocate(DType.F32, shape); Tensor gHalf = gpu.allocate(dtype, shape)) {
            gpuOp.accept(gx, gF32);
            gpuOp.accept(gx, gHalf);
            cpuOp.accept(x, cpuHalf);
            try (Tensor f32 = gpu.download(gF32); Tensor half = gpu.download(gHalf);
                 Tensor expected = converted(f32, dtype)) {
                assertArrayEquals(expected.toFloatArray(), half.toFloatArray(), label + " " + dtype + ": not the F32 result rounded");
            }
            assertClose(label + " " + dtype + " output vs CPU", cpuHalf, gHalf, dtype == DType.BF16 ? 8e-3 : 1e-3);
        }
    }
}
