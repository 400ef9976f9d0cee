package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only: {@link CudaBackend#queryAttentionRow} (one launch of {@code query_attention_row_f32}, the
 * vision tower's [CLS] and probe rows under {@code -Dglimpse.cuda.vtcFused=true}) equals the two-launch
 * path it replaces ({@link CudaBackend#batchedMatmul} of {@code scale * q k^T}, then
 * {@link CudaBackend#softmax}) and the CPU backend's same two operations, element by element to
 * {@value #RELATIVE} relative: the query is row 0 of [N, heads, D] queries and the keys [N, heads, D]
 * rows of a wider buffer (strided views, as the tower hands them), at CLIP-L/336's 577 tokens of
 * head dim 64, SigLIP's 729 of 72, a single key, more keys than threads, head dims 128 and 160, odd
 * sizes and keys off 16-byte alignment (the kernel's scalar loads); inside a captured CUDA graph as
 * well. Rows past the kernel's shared memory run the two launches and give their bits.
 */
class CudaQueryAttentionRowTest {

    /**
     * Per element |fused - reference| <= RELATIVE * |reference| + 1e-12: a probability's relative error is its logit's
     * absolute one, F32 rounding of a dot product, which grows with scale * sum_d |q_d k_d| (tens for real heads).
     */
    private static final double RELATIVE = 1e-4;

    @ParameterizedTest(name = "n={0} heads={1} d={2} offset={3} graph={4}")
    @CsvSource({"577, 16, 64, 0, false", "577, 16, 64, 0, true", "577, 16, 64, 1, false", "729, 16, 72, 0, false",
            "1, 4, 64, 0, false", "33, 3, 128, 0, false", "40, 2, 160, 0, false", "100, 5, 7, 0, false",
            "12000, 2, 64, 0, true", "4096, 1, 1, 0, false", "1500, 2, 64, 0, false"})
    void oneLaunchMatchesBatchedMatmulAndSoftmax(int n, int heads, int d, int offset, boolean graph) {
        CudaBackend gpu = cuda();
        float scale = (float) Math.pow(d, -0.5);
        // queries and keys as the tower's q/k/v scratch holds them: [N, heads, D] inside a 3-wide row,
        // offset floats into their buffer (1: keys not 16-byte aligned, read a float at a time)
        int wide = n * 3 * heads * d;
        try (Tensor qHost = random(11L * n + d, 2f, DType.F32, n, heads, d);
             Tensor kHost = random(13L * n + d, 2f, DType.F32, wide + 1);
             Tensor q = gpu.upload(qHost); Tensor kDevice = gpu.upload(kHost);
             Tensor fused = gpu.allocate(DType.F32, heads, 1, n);
             Tensor twoLaunches = gpu.allocate(DType.F32, heads, 1, n);
             Tensor cpu = Tensor.allocate(DType.F32, heads, 1, n);
             Tensor qPacked = Tensor.allocate(DType.F32, heads, 1, d);
             Tensor kPacked = Tensor.allocate(DType.F32, heads, n, d)) {
            Tensor query = q.slice(0, 0, 1);
            Tensor keys = kDevice.slice(0, offset, offset + wide).reshape(n, 3, heads, d).select(1, 1);
            Runnable run = () -> gpu.queryAttentionRow(query, keys, scale, fused);
            if (graph) {
                CudaTestSupport.runFromGraph(run);
            } else {
                run.run();
            }
            gpu.batchedMatmul(query.transpose(0, 1), keys.transpose(0, 1), true, scale, twoLaunches);
            gpu.softmax(twoLaunches, twoLaunches);
            qHost.slice(0, 0, 1).transpose(0, 1).copyElementsTo(qPacked);
            kHost.slice(0, offset, offset + wide).reshape(n, 3, heads, d).select(1, 1).transpose(0, 1)
                    .copyElementsTo(kPacked);
            CPU.batchedMatmul(qPacked, kPacked, true, scale, cpu);
            CPU.softmax(cpu, cpu);
            String label = "n=" + n + " heads=" + heads + " d=" + d + " offset=" + offset + (graph ? " graph" : "");
            assertRelative("queryAttentionRow vs two launches " + label, host(twoLaunches), host(fused));
            assertRelative("queryAttentionRow vs CPU " + label, cpu.toFloatArray(), host(fused));
        }
    }

    @ParameterizedTest(name = "n={0} d={1}")
    @CsvSource({"13000, 64", "12300, 8"})
    void rowsPastTheKernelsSharedMemoryRunTheTwoLaunches(int n, int d) {
        CudaBackend gpu = cuda();
        int heads = 2;
        float scale = 0.125f;
        try (Tensor qHost = random(5L * n + d, 1f, DType.F32, 1, heads, d);
             Tensor kHost = random(7L * n + d, 1f, DType.F32, n, heads, d);
             Tensor q = gpu.upload(qHost); Tensor k = gpu.upload(kHost);
             Tensor fused = gpu.allocate(DType.F32, heads, 1, n);
             Tensor twoLaunches = gpu.allocate(DType.F32, heads, 1, n)) {
            gpu.queryAttentionRow(q, k, scale, fused);
            gpu.batchedMatmul(q.transpose(0, 1), k.transpose(0, 1), true, scale, twoLaunches);
            gpu.softmax(twoLaunches, twoLaunches);
            assertArrayEquals(host(twoLaunches), host(fused), 0f, "n=" + n + " d=" + d + ": the two launches' bits");
            System.out.println("PARITY queryAttentionRow fallback n=" + n + " d=" + d + " exact");
        }
    }

    private static void assertRelative(String label, float[] expected, float[] actual) {
        assertTrue(expected.length == actual.length, label + ": sizes differ");
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) expected[i] - actual[i]);
            double ratio = Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : e / (Math.abs(expected[i]) + 1e-12 / RELATIVE);
            if (ratio > worst) {
                worst = ratio;
                at = i;
            }
        }
        System.out.println(String.format(Locale.ROOT, "PARITY %-56s maxRelErr=%.3e tol=%.1e", label, worst, RELATIVE));
        int w = at;
        double finalWorst = worst;
        assertTrue(worst <= RELATIVE, () -> label + ": relative error " + finalWorst + " at " + w + " (expected "
                + expected[w] + ", got " + actual[w] + ")");
    }
}
