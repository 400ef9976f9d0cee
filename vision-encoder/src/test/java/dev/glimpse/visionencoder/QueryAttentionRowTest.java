package dev.glimpse.visionencoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention row composed from a batched GEMM and a softmax equals the row the attention call
 * captures for the same query ([CLS] = row 0, or a single probe query), per head, on the CPU
 * backend (the composition the CUDA graphs replay; the GPU test compares it with the CUDA capture).
 */
class QueryAttentionRowTest {

    private static Tensor random(Random r, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    @ParameterizedTest(name = "{0} queries, {1} keys, {2} heads of {3}")
    @CsvSource({"17, 17, 4, 8", "1, 16, 4, 8", "577, 577, 16, 64", "5, 9, 3, 80"})
    void theComposedRowIsTheCapturedRow(int queries, int keys, int heads, int dim) {
        Random r = new Random(queries * 31L + keys);
        float scale = (float) Math.pow(dim, -0.5);
        try (CpuBackend cpu = new CpuBackend();
             Tensor q = random(r, queries, heads, dim);
             Tensor k = random(r, keys, heads, dim);
             Tensor v = random(r, keys, heads, dim);
             Tensor out = Tensor.allocate(DType.F32, queries, heads, dim);
             Tensor captured = Tensor.allocate(DType.F32, heads, 1, keys);
             Tensor composed = Tensor.allocate(DType.F32, heads, 1, keys)) {
            cpu.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, out, AttentionCapture.rows(new int[] {0}, captured));
            QueryAttentionRow.compute(cpu, q.slice(0, 0, 1), k, scale, composed);
            float[] e = captured.toFloatArray();
            float[] a = composed.toFloatArray();
            double max = 0;
            for (int i = 0; i < e.length; i++) {
                max = Math.max(max, Math.abs(e[i] - a[i]));
            }
            assertTrue(max < 1e-6, "composed row differs from the captured one by " + max);
            double rowSum = 0;
            for (int j = 0; j < keys; j++) {
                rowSum += a[j];
            }
            assertTrue(Math.abs(rowSum - 1) < 1e-5, "head 0's row sums to " + rowSum);
        }
    }
}
