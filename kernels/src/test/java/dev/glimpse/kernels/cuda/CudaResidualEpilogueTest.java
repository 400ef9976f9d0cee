package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.ROUNDED_X;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.rounded;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;

/**
 * {@link CudaBackend#linearAddResidual} beyond the decode GEMV's rows: the residual added in
 * cuBLASLt's epilogue (beta 1, C the residual), out distinct from the residual or the residual
 * itself, against the CPU's linear on x rounded to the weights' dtype then add, and against the
 * separate product and add ({@code -Dglimpse.cuda.ltResidual=false}). Each case's shape is new to
 * the backend, so its first call is the one that measures the algorithm: a measurement that wrote
 * into the residual (in place) would add the product several times, far beyond the bound.
 */
class CudaResidualEpilogueTest {

    @ParameterizedTest(name = "{0} x, m={1} n={2} k={3} bias={4} in place={5}")
    @CsvSource({
            "BF16, 74, 4096, 1408, false, true", "BF16, 74, 4096, 1408, false, false", "F32, 74, 1024, 2816, true, true",
            "BF16, 586, 1024, 1408, true, false", "BF16, 586, 1024, 1408, false, true", "BF16, 9, 640, 384, false, true",
            "F32, 300, 896, 4864, true, true"})
    void residualIsAddedOnceInTheEpilogue(DType xType, int m, int n, int k, boolean withBias, boolean inPlace) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(101, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, DType.BF16);
             Tensor w = random(102, 0.05f, DType.BF16, n, k);
             Tensor bias = random(103, 0.1f, DType.F32, n);
             Tensor residual = random(104, 1f, DType.F32, m, n);
             Tensor projected = Tensor.allocate(DType.F32, m, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(xType == DType.BF16 ? xRounded : x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor gResidual = gpu.upload(residual); Tensor gOut = gpu.allocate(DType.F32, m, n);
             Tensor separate = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(xRounded, w, withBias ? bias : null, projected);
            CPU.add(residual, projected, expected);
            String label = "residual epilogue " + xType + " m=" + m + " n=" + n + " k=" + k + (inPlace ? " in place" : "");
            Tensor out = inPlace ? gResidual : gOut;
            gpu.linearAddResidual(gx, gw, withBias ? gb : null, gResidual, out);
            assertClose(label, expected, out, ROUNDED_X);
            try (Tensor again = gpu.upload(residual)) {
                gpu.linearAddResidual(gx, gw, withBias ? gb : null, again, again);
                assertClose(label + ", second (measured) call", expected, again, ROUNDED_X);
            }
            withProperty(CudaGemm.LT_RESIDUAL_PROPERTY, "false", () -> {
                try (Tensor fresh = gpu.upload(residual)) {
                    gpu.linearAddResidual(gx, gw, withBias ? gb : null, fresh, separate);
                    try (Tensor host = gpu.download(separate)) {
                        assertClose(label + " vs product and add", host, out, ROUNDED_X);
                    }
                }
            });
        }
    }
}
