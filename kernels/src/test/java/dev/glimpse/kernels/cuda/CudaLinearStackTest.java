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
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link CudaBackend#linearStack}: stacked weights sharing x (fused q/k/v, k/v, gate/up) in one
 * batched cuBLASLt product, outputs in a [B, capacity, n] scratch viewed at m rows (the decoder's
 * layout), against each weight's own {@link CudaBackend#linear} and the CPU on x rounded to the
 * weights' dtype (on x itself for GEMV row counts, whose kernel reads F32 x unrounded). The stacked product may run another algorithm than the separate ones, so the
 * bound is the GEMM tests' summation-order bound, not bit equality.
 */
class CudaLinearStackTest {

    @ParameterizedTest(name = "{0} x{1}, m={2} of {3} n={4} k={5} bias={6} x16={7}")
    @CsvSource({
            "BF16, 3, 74, 80, 512, 512, false, true",     // Llama-7B-like q/k/v, skinny
            "BF16, 3, 586, 600, 512, 512, false, true",   // full-prefill rows
            "BF16, 2, 300, 300, 128, 896, true, true",    // Qwen2-0.5B k/v with biases
            "BF16, 2, 74, 80, 1376, 512, false, true",    // gate/up
            "F16, 2, 100, 128, 192, 256, true, false",    // F32 x rounded by the product
            "BF16, 3, 5, 16, 256, 256, true, false",      // GEMV rows: one linear per weight
            "BF16, 2, 40, 64, 72, 72, true, true"})       // 72 features: biases not 256-byte apart, per-weight path
    void stackedProductEqualsEachWeightsLinear(DType wType, int batch, int m, int capacity, int n, int k, boolean withBias,
                                               boolean halfX) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(51, 1f, DType.F32, m, k);
             Tensor xRounded = rounded(x, wType);
             Tensor w = random(52, 0.05f, wType, batch, n, k);
             Tensor bias = random(53, 0.1f, wType, batch, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(halfX ? xRounded : x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor store = gpu.allocate(DType.F32, batch, capacity, n);
             Tensor separate = gpu.allocate(DType.F32, m, n)) {
            Tensor out = store.slice(1, 0, m);
            // GEMV rows (one linear per weight) read F32 x as it is; the cuBLASLt products round it.
            Tensor reference = !halfX && m <= CudaGemm.GEMV_MAX_ROWS ? x : xRounded;
            gpu.linearStack(gx, gw, withBias ? gb : null, out);
            for (int i = 0; i < batch; i++) {
                String label = "stack " + wType + " x" + batch + " [" + i + "] m=" + m + " n=" + n + " k=" + k;
                CPU.linear(reference, w.select(0, i), withBias ? bias.select(0, i) : null, expected);
                assertClose(label + " vs cpu", expected, out.select(0, i), ROUNDED_X);
                gpu.linear(gx, gw.select(0, i), withBias ? gb.select(0, i) : null, separate);
                try (Tensor separateHost = gpu.download(separate)) {
                    assertClose(label + " vs separate", separateHost, out.select(0, i), ROUNDED_X);
                }
            }
        }
    }

    @ParameterizedTest(name = "rows beyond m stay untouched, m={0}")
    @CsvSource({"74", "9"})
    void rowsBeyondTheViewAreNotWritten(int m) {
        CudaBackend gpu = cuda();
        int capacity = m + 6;
        try (Tensor x = random(61, 1f, DType.BF16, m, 256);
             Tensor w = random(62, 0.05f, DType.BF16, 3, 256, 256);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor store = gpu.allocate(DType.F32, 3, capacity, 256)) {
            gpu.linearStack(gx, gw, null, store.slice(1, 0, m));
            try (Tensor host = gpu.download(store)) {
                for (int i = 0; i < 3; i++) {
                    for (float value : host.select(0, i).slice(0, m, capacity).toFloatArray()) {
                        assertEquals(0f, value, "row past m of output " + i);
                    }
                }
            }
        }
    }
}
