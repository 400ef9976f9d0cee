package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link CudaBackend#gatedActivation} with {@code -Dglimpse.cuda.prefillFusion=true}
 * ({@code gated_activation_f32_v4}, four elements per thread where the size is a multiple of 4)
 * writes the bits of the scalar kernel, into F32, BF16 and F16 outputs, at the decoder MLP's prefill
 * sizes (Llama-7B's 11008 and Qwen2-0.5B's 4864 intermediate at 74 and 586 rows) and at a size the
 * scalar kernel keeps; and matches the CPU.
 */
class CudaGatedActivationVectorTest {

    @ParameterizedTest(name = "{0}x{1} {2} -> {3}")
    @CsvSource({"74, 11008, SILU, BF16", "586, 11008, SILU, BF16", "74, 4864, SILU, F32", "586, 4864, SILU, F16",
            "9, 64, GELU_TANH, BF16", "9, 64, GELU_ERF, F32", "9, 64, QUICK_GELU, F16", "9, 64, RELU, BF16",
            "3, 7, SILU, BF16"})
    void vectorKernelWritesTheScalarKernelsBits(int rows, int width, Activation f, DType outType) {
        CudaBackend gpu = cuda();
        try (Tensor gate = random(301, 2f, DType.F32, rows, width); Tensor up = random(302, 2f, DType.F32, rows, width);
             Tensor g = gpu.upload(gate); Tensor u = gpu.upload(up);
             Tensor scalar = gpu.allocate(outType, rows, width); Tensor vector = gpu.allocate(outType, rows, width);
             Tensor expected = Tensor.allocate(outType, rows, width)) {
            withProperties(Map.of(CudaBackend.PREFILL_FUSION_PROPERTY, "false"), () -> {
                gpu.gatedActivation(f, g, u, scalar);
                return null;
            });
            withProperties(Map.of(CudaBackend.PREFILL_FUSION_PROPERTY, "true"), () -> {
                gpu.gatedActivation(f, g, u, vector);
                return null;
            });
            assertArrayEquals(host(scalar), host(vector), "vector vs scalar kernel");
            CPU.gatedActivation(f, gate, up, expected);
            double tolerance = switch (outType) {
                case BF16 -> 1e-2;
                case F16 -> 2e-3;
                default -> CudaTestSupport.F32;
            };
            assertClose("gatedActivation v4 " + f + " " + rows + "x" + width + " -> " + outType, expected, vector, tolerance);
        }
    }
}
