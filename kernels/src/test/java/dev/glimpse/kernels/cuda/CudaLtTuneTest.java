package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.ROUNDED_X;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * cuBLASLt's measured algorithm choice ({@code -Dglimpse.cuda.ltTune}): a tuned plan computes what
 * the heuristic's plan computes, up to summation order (another algorithm, possibly split-K), its
 * first call's own result included (the timing runs write that very output); no measurement
 * happens while the stream is captured, and the captured product still runs (the heuristic's
 * first) and is right. A stacked product's measured choice also serves its outputs at another batch
 * stride (scratch of another session capacity) without measuring again, and computes the same product.
 */
class CudaLtTuneTest {

    @ParameterizedTest(name = "m={0} n={1} k={2} bias={3}")
    @CsvSource({"74, 1024, 4096, false", "74, 2752, 1024, true", "586, 1024, 1024, true", "16, 512, 8192, false"})
    void tunedAndHeuristicPlansAgreeWithTheCpu(int m, int n, int k, boolean withBias) {
        CudaBackend tuned = cuda();
        try (Tensor x = random(71, 1f, DType.BF16, m, k);
             Tensor w = random(72, 0.05f, DType.BF16, n, k);
             Tensor bias = random(73, 0.1f, DType.F32, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, withBias ? bias : null, expected);
            int before = tuned.ltTunings();
            try (Tensor gx = tuned.upload(x); Tensor gw = tuned.upload(w); Tensor gb = tuned.upload(bias);
                 Tensor first = tuned.allocate(DType.F32, m, n); Tensor second = tuned.allocate(DType.F32, m, n)) {
                tuned.linear(gx, gw, withBias ? gb : null, first);
                tuned.linear(gx, gw, withBias ? gb : null, second);
                assertEquals(before + 1, tuned.ltTunings(), "the first call measured, the second reused the choice");
                assertClose("tuned first call m=" + m + " n=" + n + " k=" + k, expected, first, ROUNDED_X);
                assertClose("tuned m=" + m + " n=" + n + " k=" + k, expected, second, ROUNDED_X);
            }
            withProperty(CudaLtMatmul.TUNE_PROPERTY, "false", () -> {
                try (CudaBackend heuristic = CudaBackend.open(new CudaOptions(0, 0));
                     Tensor gx = heuristic.upload(x); Tensor gw = heuristic.upload(w); Tensor gb = heuristic.upload(bias);
                     Tensor out = heuristic.allocate(DType.F32, m, n)) {
                    heuristic.linear(gx, gw, withBias ? gb : null, out);
                    assertEquals(0, heuristic.ltTunings(), "ltTune=false measures nothing");
                    try (Tensor host = heuristic.download(out); Tensor back = tuned.upload(host)) {
                        assertClose("heuristic m=" + m + " n=" + n + " k=" + k, expected, back, ROUNDED_X);
                    }
                }
            });
        }
    }

    @Test
    void anotherRowCountOfAMeasuredBucketReusesItsChoice() {
        CudaBackend gpu = cuda();
        int n = 896;
        int k = 2304; // shapes no other test uses
        try (Tensor w = random(91, 0.05f, DType.BF16, n, k); Tensor gw = gpu.upload(w)) {
            int before = gpu.ltTunings();
            for (int m : new int[] {70, 100, 128}) {
                try (Tensor x = random(92 + m, 1f, DType.BF16, m, k); Tensor expected = Tensor.allocate(DType.F32, m, n);
                     Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, m, n)) {
                    CPU.linear(x, w, null, expected);
                    gpu.linear(gx, gw, null, out);
                    assertClose("bucket 65..128, m=" + m, expected, out, ROUNDED_X);
                }
            }
            assertEquals(before + 1, gpu.ltTunings(), "rows 70 measured; 100 and 128 reused the bucket's choice");
        }
    }

    @Test
    void stackedOutputsInScratchOfAnotherCapacityReuseTheChoice() {
        CudaBackend gpu = cuda();
        int batch = 3;
        int n = 448;
        int k = 1792; // shapes no other test uses
        try (Tensor w = random(95, 0.05f, DType.BF16, batch, n, k); Tensor gw = gpu.upload(w)) {
            int before = gpu.ltTunings();
            // (rows, scratch capacity): as a decoder session's [3, capacity, n] q/k/v scratch, capacity rows apart
            int[][] calls = {{40, 50}, {40, 61}, {60, 70}};
            for (int[] call : calls) {
                int m = call[0];
                int capacity = call[1];
                try (Tensor x = random(96 + capacity, 1f, DType.BF16, m, k); Tensor gx = gpu.upload(x);
                     Tensor scratch = gpu.allocate(DType.F32, batch, capacity, n)) {
                    gpu.linearStack(gx, gw, null, scratch.slice(1, 0, m));
                    for (int i = 0; i < batch; i++) {
                        try (Tensor expected = Tensor.allocate(DType.F32, m, n)) {
                            CPU.linear(x, w.select(0, i), null, expected);
                            assertClose("stacked m=" + m + " capacity=" + capacity + " [" + i + "]", expected,
                                    scratch.select(0, i).slice(0, 0, m), ROUNDED_X);
                        }
                    }
                }
            }
            assertEquals(before + 1, gpu.ltTunings(),
                    "the first call measured; another output stride and another row count of the bucket reused it");
        }
    }

    @Test
    void nothingIsMeasuredDuringCaptureAndTheCapturedProductIsRight() {
        CudaBackend gpu = cuda();
        int m = 77;
        int n = 640;
        int k = 1536; // a shape no other test uses, so its plan is made inside the capture
        try (Tensor x = random(81, 1f, DType.BF16, m, k);
             Tensor w = random(82, 0.05f, DType.BF16, n, k);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor warmX = gpu.upload(random(83, 1f, DType.BF16, 16, 64));
             Tensor warmW = gpu.upload(random(84, 0.05f, DType.BF16, 64, 64));
             Tensor warmOut = gpu.allocate(DType.F32, 16, 64);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor captured = gpu.allocate(DType.F32, m, n); Tensor eager = gpu.allocate(DType.F32, m, n)) {
            gpu.linear(warmX, warmW, null, warmOut); // the workspace exists before the capture
            CPU.linear(x, w, null, expected);
            int before = gpu.ltTunings();
            try (StepGraph graph = gpu.capture(() -> gpu.linear(gx, gw, null, captured))) {
                assertEquals(before, gpu.ltTunings(), "a plan made during capture is not measured");
                gpu.launch(graph);
                assertClose("captured untuned product", expected, captured, ROUNDED_X);
            }
            gpu.linear(gx, gw, null, eager);
            assertEquals(before + 1, gpu.ltTunings(), "the next eager call measures the plan");
            assertClose("eager tuned product", expected, eager, ROUNDED_X);
        }
    }
}
