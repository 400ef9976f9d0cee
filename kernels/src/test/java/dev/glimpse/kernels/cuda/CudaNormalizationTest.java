package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.F32;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CudaNormalizationTest {

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 77, 1025, 12544})
    void softmaxMatchesCpu(int n) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(1, 5f, DType.F32, 6, n); Tensor expected = Tensor.allocate(DType.F32, 6, n);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, 6, n)) {
            CPU.softmax(x, expected);
            gpu.softmax(gx, out);
            assertClose("softmax n=" + n, expected, out, F32);
        }
    }

    @ParameterizedTest(name = "gamma {0}")
    @ValueSource(strings = {"F32", "BF16"})
    void layerNormMatchesCpu(String gammaType) {
        CudaBackend gpu = cuda();
        DType g = DType.valueOf(gammaType);
        try (Tensor x = random(2, 3f, DType.F32, 13, 1152); Tensor gamma = random(3, 1f, g, 1152);
             Tensor beta = random(4, 1f, g, 1152); Tensor expected = Tensor.allocate(DType.F32, 13, 1152);
             Tensor expectedNoBias = Tensor.allocate(DType.F32, 13, 1152);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma); Tensor gb = gpu.upload(beta);
             Tensor out = gpu.allocate(DType.F32, 13, 1152); Tensor outNoBias = gpu.allocate(DType.F32, 13, 1152)) {
            CPU.layerNorm(x, gamma, beta, 1e-6f, expected);
            CPU.layerNorm(x, gamma, null, 1e-6f, expectedNoBias);
            gpu.layerNorm(gx, gg, gb, 1e-6f, out);
            gpu.layerNorm(gx, gg, null, 1e-6f, outNoBias);
            assertClose("layerNorm gamma " + g, expected, out, F32);
            assertClose("layerNorm gamma " + g + " no beta", expectedNoBias, outNoBias, F32);
        }
    }

    @Test
    void rmsNormMatchesCpu() {
        CudaBackend gpu = cuda();
        try (Tensor x = random(5, 2f, DType.F32, 9, 896); Tensor gamma = random(6, 1f, DType.BF16, 896);
             Tensor expected = Tensor.allocate(DType.F32, 9, 896);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma); Tensor out = gpu.allocate(DType.F32, 9, 896)) {
            CPU.rmsNorm(x, gamma, 1e-6f, expected);
            gpu.rmsNorm(gx, gg, 1e-6f, out);
            assertClose("rmsNorm", expected, out, F32);
        }
    }

    /**
     * LayerNorm and RMSNorm at widths through every vectorised kernel (1, 2, 4 and 8 float4 per thread)
     * and the scalar fallbacks (width not a multiple of 4; wider than 8192), one row (decode) and 37,
     * F32/BF16 gamma and F32/BF16/F16 outputs, against the CPU rounded the same way.
     */
    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {4, 64, 896, 1001, 1024, 1152, 4096, 8192, 8196})
    void normsMatchCpuAtEveryWidth(int n) {
        CudaBackend gpu = cuda();
        for (int rows : new int[] {1, 37}) {
            for (DType g : new DType[] {DType.F32, DType.BF16}) {
                for (DType o : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                    String label = " n=" + n + " rows=" + rows + " gamma " + g + " out " + o;
                    try (Tensor x = random(11, 3f, DType.F32, rows, n); Tensor gamma = random(12, 1f, g, n);
                         Tensor beta = random(13, 1f, g, n); Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma);
                         Tensor gb = gpu.upload(beta); Tensor expected = Tensor.allocate(o, rows, n);
                         Tensor out = gpu.allocate(o, rows, n)) {
                        CPU.layerNorm(x, gamma, beta, 1e-5f, expected);
                        gpu.layerNorm(gx, gg, gb, 1e-5f, out);
                        assertClose("layerNorm" + label, expected, out, o == DType.F32 ? F32 : 1e-2);
                        CPU.rmsNorm(x, gamma, 1e-6f, expected);
                        gpu.rmsNorm(gx, gg, 1e-6f, out);
                        assertClose("rmsNorm" + label, expected, out, o == DType.F32 ? F32 : 1e-2);
                    }
                }
            }
        }
    }

    @Test
    void vectorisedNormsCoverWidthsUpTo8192() {
        assertEquals(1, CudaPointwise.normV4PerThread(4));
        assertEquals(2, CudaPointwise.normV4PerThread(896));
        assertEquals(1, CudaPointwise.normV4PerThread(1024));
        assertEquals(2, CudaPointwise.normV4PerThread(1152));
        assertEquals(4, CudaPointwise.normV4PerThread(4096));
        assertEquals(8, CudaPointwise.normV4PerThread(8192));
        assertEquals(0, CudaPointwise.normV4PerThread(8196));
    }

    @Test
    void l2NormMatchesCpu() {
        CudaBackend gpu = cuda();
        try (Tensor x = random(7, 5, 14, 64); Tensor expected = Tensor.allocate(DType.F32, 5, 14);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, 5, 14)) {
            CPU.l2Norm(x, expected);
            gpu.l2Norm(gx, out);
            assertClose("l2Norm", expected, out, F32);
        }
    }

    @ParameterizedTest(name = "rotary dims {0} of 64")
    @ValueSource(ints = {64, 32})
    void ropeMatchesCpuIncludingPartialRotary(int rotary) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(8, 11, 3, 64); Tensor cos = random(9, 11, rotary / 2); Tensor sin = random(10, 11, rotary / 2);
             Tensor expected = Tensor.allocate(DType.F32, 11, 3, 64);
             Tensor gx = gpu.upload(x); Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin)) {
            CPU.rope(x, cos, sin, expected);
            gpu.rope(gx, gc, gs, gx);
            assertClose("rope in place R=" + rotary, expected, gx, F32);
        }
    }
}
