package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

class CudaGemmTest {

    @ParameterizedTest(name = "{0} weights, m={1} n={2} k={3}")
    @CsvSource({
            "F32, 1, 37, 65", "F32, 77, 130, 256", "F32, 9, 1024, 1000",
            "BF16, 1, 37, 65", "BF16, 3, 300, 256", "BF16, 8, 129, 1024", "BF16, 9, 37, 65", "BF16, 77, 130, 256",
            "F16, 1, 300, 256", "F16, 5, 37, 65", "F16, 64, 512, 384",
            "BF16, 1, 896, 896", "BF16, 1, 4864, 896", "BF16, 1, 896, 4864", "BF16, 1, 9, 8192", "BF16, 1, 1003, 9000",
            "BF16, 1, 151936, 896", "BF16, 4, 300, 4864", "BF16, 8, 17, 2056", "F16, 2, 896, 4864", "F16, 1, 129, 1032"})
    void linearMatchesCpuWithBias(DType wType, int m, int n, int k) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(1, 1f, DType.F32, m, k);
             Tensor w = random(2, 0.05f, wType, n, k);
             Tensor bias = random(3, 0.1f, wType, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, bias, expected);
            gpu.linear(gx, gw, gb, out);
            double tol = wType == DType.F32 || m <= CudaGemm.GEMV_MAX_ROWS ? CudaTestSupport.GEMM_F32
                    : wType == DType.F16 ? CudaTestSupport.GEMM_F16 : CudaTestSupport.GEMM_BF16;
            assertClose("linear " + wType + " m=" + m + " n=" + n + " k=" + k, expected, out, tol);
        }
    }

    @ParameterizedTest(name = "transposeB={0}")
    @CsvSource({"false", "true"})
    void batchedMatmulMatchesCpu(boolean transposeB) {
        CudaBackend gpu = cuda();
        int b = 7;
        int m = 33;
        int k = 72;
        int n = 45;
        try (Tensor a = random(4, b, m, k);
             Tensor bm = transposeB ? random(5, b, n, k) : random(5, b, k, n);
             Tensor expected = Tensor.allocate(DType.F32, b, m, n);
             Tensor ga = gpu.upload(a); Tensor gb = gpu.upload(bm);
             Tensor out = gpu.allocate(DType.F32, b, m, n)) {
            CPU.batchedMatmul(a, bm, transposeB, 0.125f, expected);
            gpu.batchedMatmul(ga, gb, transposeB, 0.125f, out);
            assertClose("batchedMatmul transposeB=" + transposeB, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    @ParameterizedTest(name = "transposeB={0}")
    @CsvSource({"false", "true"})
    void batchedMatmulReadsHeadMajorViewsInPlace(boolean transposeB) {
        CudaBackend gpu = cuda();
        int t = 40;
        int heads = 6;
        int d = 64;
        try (Tensor q = random(6, t, heads, d); Tensor k = random(7, t, heads, d);
             Tensor expected = Tensor.allocate(DType.F32, heads, t, t);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k);
             Tensor out = gpu.allocate(DType.F32, heads, t, t)) {
            Tensor kView = transposeB ? k.transpose(0, 1) : k.transpose(0, 1).transpose(1, 2);
            Tensor gkView = transposeB ? gk.transpose(0, 1) : gk.transpose(0, 1).transpose(1, 2);
            if (transposeB) {
                CPU.batchedMatmul(q.transpose(0, 1), kView, true, 0.125f, expected);
                gpu.batchedMatmul(gq.transpose(0, 1), gkView, true, 0.125f, out);
            } else {
                CPU.batchedMatmul(q.transpose(0, 1), kView, false, 0.125f, expected);
                gpu.batchedMatmul(gq.transpose(0, 1), gkView, false, 0.125f, out);
            }
            assertClose("batchedMatmul strided views transposeB=" + transposeB, expected, out, CudaTestSupport.GEMM_F32);
        }
    }
}
