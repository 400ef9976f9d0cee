package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.F32;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

class CudaElementwiseTest {

    @Test
    void addAndMulBroadcastASuffixOfAnyFloatDtype() {
        CudaBackend gpu = cuda();
        try (Tensor a = random(1, 3, 5, 77); Tensor b = random(2, 1f, DType.BF16, 5, 77);
             Tensor sum = Tensor.allocate(DType.F32, 3, 5, 77); Tensor product = Tensor.allocate(DType.F32, 3, 5, 77);
             Tensor ga = gpu.upload(a); Tensor gb = gpu.upload(b);
             Tensor gsum = gpu.allocate(DType.F32, 3, 5, 77); Tensor gproduct = gpu.allocate(DType.F32, 3, 5, 77)) {
            CPU.add(a, b, sum);
            CPU.mul(a, b, product);
            gpu.add(ga, gb, gsum);
            gpu.mul(ga, gb, gproduct);
            assertClose("add (bf16 suffix broadcast)", sum, gsum, 0);
            assertClose("mul (bf16 suffix broadcast)", product, gproduct, 0);
        }
    }

    @Test
    void scaleReadsATransposedView() {
        CudaBackend gpu = cuda();
        try (Tensor a = random(3, 31, 17); Tensor expected = Tensor.allocate(DType.F32, 17, 31);
             Tensor ga = gpu.upload(a); Tensor out = gpu.allocate(DType.F32, 17, 31)) {
            CPU.scale(a.transpose(0, 1), -1.5f, expected);
            gpu.scale(ga.transpose(0, 1), -1.5f, out);
            assertClose("scale (transposed input)", expected, out, 0);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationMatchesCpu(Activation f) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(4, 4f, DType.F32, 1001); Tensor expected = Tensor.allocate(DType.F32, 1001);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, 1001)) {
            CPU.activation(f, x, expected);
            gpu.activation(f, gx, out);
            assertClose("activation " + f, expected, out, F32);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Activation.class, names = {"SILU", "GELU_TANH", "GELU_ERF"})
    void gatedActivationMatchesCpu(Activation f) {
        CudaBackend gpu = cuda();
        try (Tensor gate = random(5, 3f, DType.F32, 9, 130); Tensor up = random(6, 9, 130);
             Tensor expected = Tensor.allocate(DType.F32, 9, 130);
             Tensor gg = gpu.upload(gate); Tensor gu = gpu.upload(up); Tensor out = gpu.allocate(DType.F32, 9, 130)) {
            CPU.gatedActivation(f, gate, up, expected);
            gpu.gatedActivation(f, gg, gu, out);
            assertClose("gatedActivation " + f, expected, out, F32);
        }
    }
}
