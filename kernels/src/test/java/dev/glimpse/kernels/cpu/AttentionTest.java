package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AttentionTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(5);

    /** Probabilities [Hq][T][S] of eager attention in double: softmax(q k^T * scale + mask), kv head h / (Hq / Hkv). */
    private static double[][][] probs(float[] q, float[] k, int t, int s, int hq, int hkv, int d, int queryStart, float scale) {
        double[][][] p = new double[hq][t][s];
        for (int h = 0; h < hq; h++) {
            int kh = h / (hq / hkv);
            for (int i = 0; i < t; i++) {
                int visible = queryStart < 0 ? s : Math.min(s, queryStart + i + 1);
                double max = Double.NEGATIVE_INFINITY;
                double[] row = p[h][i];
                for (int j = 0; j < visible; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += (double) q[(i * hq + h) * d + c] * k[(j * hkv + kh) * d + c];
                    }
                    row[j] = dot * scale;
                    max = Math.max(max, row[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) {
                    row[j] = Math.exp(row[j] - max);
                    sum += row[j];
                }
                for (int j = 0; j < visible; j++) {
                    row[j] /= sum;
                }
            }
        }
        return p;
    }

    private static double[] output(double[][][] p, float[] v, int t, int s, int hq, int hkv, int d) {
        double[] out = new double[t * hq * d];
        for (int h = 0; h < hq; h++) {
            int kh = h / (hq / hkv);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < s; j++) {
                    for (int c = 0; c < d; c++) {
                        out[(i * hq + h) * d + c] += p[h][i][j] * v[(j * hkv + kh) * d + c];
                    }
                }
            }
        }
        return out;
    }

    private void check(int t, int s, int hq, int hkv, int d, int queryStart) {
        float[] q = Fixtures.values(random, t * hq * d);
        float[] k = Fixtures.values(random, s * hkv * d);
        float[] v = Fixtures.values(random, s * hkv * d);
        float scale = (float) (1 / Math.sqrt(d));
        AttentionMask mask = queryStart < 0 ? AttentionMask.BIDIRECTIONAL : AttentionMask.causal(queryStart);
        try (Tensor tq = Tensor.of(q, t, hq, d); Tensor tk = Tensor.of(k, s, hkv, d); Tensor tv = Tensor.of(v, s, hkv, d);
             Tensor out = Tensor.allocate(DType.F32, t, hq, d)) {
            backend.attention(tq, tk, tv, mask, scale, out, null);
            double[] expected = output(probs(q, k, t, s, hq, hkv, d, queryStart, scale), v, t, s, hq, hkv, d);
            assertClose(expected, out.toFloatArray(), 2e-5);
        }
    }

    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4}")
    @CsvSource({"1,1,1,1,1", "3,17,2,2,8", "17,17,8,1,16", "5,9,8,4,3", "1,129,4,2,64", "20,20,16,2,33"})
    void bidirectionalMatchesEagerAttentionForGroupedHeads(int t, int s, int hq, int hkv, int d) {
        check(t, s, hq, hkv, d, -1);
    }

    @ParameterizedTest(name = "T={0} S={1} queryStart={2}")
    @CsvSource({"17,17,0", "4,11,7", "1,130,129", "33,40,7"})
    void causalQueriesSeeOnlyKeysUpToTheirPosition(int t, int s, int queryStart) {
        check(t, s, 4, 2, 16, queryStart);
    }

    @Test
    void largePrefillCrossesTheParallelThreshold() {
        check(96, 96, 8, 2, 64, 0);
    }

    @Test
    void readsKeysAndValuesFromAStridedCacheSlice() {
        int t = 2;
        int s = 9;
        int hq = 4;
        int hkv = 2;
        int d = 8;
        int capacity = 16;
        float[] q = Fixtures.values(random, t * hq * d);
        float[] k = Fixtures.values(random, s * hkv * d);
        float[] v = Fixtures.values(random, s * hkv * d);
        try (Tensor tq = Tensor.of(q, t, hq, d);
             Tensor kCache = Tensor.allocate(DType.F32, hkv, capacity, d);
             Tensor vCache = Tensor.allocate(DType.F32, hkv, capacity, d);
             Tensor out = Tensor.allocate(DType.F32, t, hq, d)) {
            Tensor kView = cacheView(kCache, s, k);
            Tensor vView = cacheView(vCache, s, v);
            backend.attention(tq, kView, vView, AttentionMask.causal(s - t), 0.3f, out, null);
            double[] expected = output(probs(q, k, t, s, hq, hkv, d, s - t, 0.3f), v, t, s, hq, hkv, d);
            assertClose(expected, out.toFloatArray(), 2e-5);
        }
    }

    /**
     * A BF16 or F16 KV cache slice (head-major, strided like KvCache's views) gives exactly the output
     * and captured probabilities of F32 keys and values holding the same (rounded) values.
     */
    @ParameterizedTest
    @CsvSource({"BF16, 1, 4, 8, 2", "BF16, 7, 37, 14, 2", "F16, 5, 21, 4, 4", "F16, 1, 600, 2, 1"})
    void halfPrecisionCacheEqualsF32AttentionOnItsValues(DType half, int t, int s, int hq, int hkv) {
        int d = 64;
        int capacity = s + 3;
        float[] q = Fixtures.values(random, t * hq * d);
        float[] k = Fixtures.values(random, s * hkv * d);
        float[] v = Fixtures.values(random, s * hkv * d);
        int[] rows = {0, t - 1};
        try (Tensor tq = Tensor.of(q, t, hq, d);
             Tensor kCache = Tensor.allocate(half, hkv, capacity, d);
             Tensor vCache = Tensor.allocate(half, hkv, capacity, d);
             Tensor out = Tensor.allocate(DType.F32, t, hq, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor rowProbs = Tensor.allocate(DType.F32, hq, rows.length, s);
             Tensor expectedRows = Tensor.allocate(DType.F32, hq, rows.length, s);
             Tensor columns = Tensor.allocate(DType.F32, hq, s);
             Tensor expectedColumns = Tensor.allocate(DType.F32, hq, s)) {
            Tensor kView = cacheView(kCache, s, k);
            Tensor vView = cacheView(vCache, s, v);
            AttentionMask mask = AttentionMask.causal(s - t);
            backend.attention(tq, kView, vView, mask, 0.125f, out, new AttentionCapture(rows, rowProbs, columns));
            try (Tensor k32 = Tensor.of(kView.toFloatArray(), s, hkv, d);
                 Tensor v32 = Tensor.of(vView.toFloatArray(), s, hkv, d)) {
                backend.attention(tq, k32, v32, mask, 0.125f, expected,
                        new AttentionCapture(rows, expectedRows, expectedColumns));
            }
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            assertArrayEquals(expectedRows.toFloatArray(), rowProbs.toFloatArray());
            assertArrayEquals(expectedColumns.toFloatArray(), columns.toFloatArray());
        }
    }

    @Test
    void captureRecordsChosenRowsAndColumnSumsWithoutChangingTheOutput() {
        int t = 40;
        int s = 45;
        int hq = 4;
        int hkv = 1;
        int d = 16;
        int queryStart = 5;
        float[] q = Fixtures.values(random, t * hq * d);
        float[] k = Fixtures.values(random, s * hkv * d);
        float[] v = Fixtures.values(random, s * hkv * d);
        int[] rows = {0, 39, 17};
        try (Tensor tq = Tensor.of(q, t, hq, d); Tensor tk = Tensor.of(k, s, hkv, d); Tensor tv = Tensor.of(v, s, hkv, d);
             Tensor plain = Tensor.allocate(DType.F32, t, hq, d); Tensor captured = Tensor.allocate(DType.F32, t, hq, d);
             Tensor rowProbs = Tensor.allocate(DType.F32, hq, rows.length, s);
             Tensor columnSums = Tensor.allocate(DType.F32, hq, s)) {
            rowProbs.copyFrom(filled(hq * rows.length * s, 7f));
            AttentionMask mask = AttentionMask.causal(queryStart);
            backend.attention(tq, tk, tv, mask, 0.25f, plain, null);
            backend.attention(tq, tk, tv, mask, 0.25f, captured, new AttentionCapture(rows, rowProbs, columnSums));
            assertArrayEquals(plain.toFloatArray(), captured.toFloatArray());

            double[][][] p = probs(q, k, t, s, hq, hkv, d, queryStart, 0.25f);
            double[] expectedRows = new double[hq * rows.length * s];
            double[] expectedSums = new double[hq * s];
            for (int h = 0; h < hq; h++) {
                for (int r = 0; r < rows.length; r++) {
                    System.arraycopy(p[h][rows[r]], 0, expectedRows, (h * rows.length + r) * s, s);
                }
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < s; j++) {
                        expectedSums[h * s + j] += p[h][i][j];
                    }
                }
            }
            assertClose(expectedRows, rowProbs.toFloatArray(), 1e-5);
            assertClose(expectedSums, columnSums.toFloatArray(), 1e-5);
        }
    }

    @Test
    void rejectsQueryHeadsThatAreNotAMultipleOfKvHeads() {
        try (Tensor q = Tensor.allocate(DType.F32, 1, 3, 4); Tensor k = Tensor.allocate(DType.F32, 2, 2, 4);
             Tensor out = Tensor.allocate(DType.F32, 1, 3, 4)) {
            assertThrows(TensorException.class,
                    () -> backend.attention(q, k, k, AttentionMask.BIDIRECTIONAL, 1f, out, null));
        }
    }

    @Test
    void rejectsACausalStartPastTheKeys() {
        try (Tensor q = Tensor.allocate(DType.F32, 2, 1, 4); Tensor k = Tensor.allocate(DType.F32, 2, 1, 4);
             Tensor out = Tensor.allocate(DType.F32, 2, 1, 4)) {
            assertThrows(TensorException.class, () -> backend.attention(q, k, k, AttentionMask.causal(1), 1f, out, null));
        }
    }

    @Test
    void zeroQueriesIsANoOp() {
        try (Tensor q = Tensor.allocate(DType.F32, 0, 2, 4); Tensor k = Tensor.allocate(DType.F32, 3, 1, 4);
             Tensor out = Tensor.allocate(DType.F32, 0, 2, 4)) {
            backend.attention(q, k, k, AttentionMask.BIDIRECTIONAL, 1f, out, null);
        }
    }

    /** The first {@code s} positions of a head-major cache [Hkv, capacity, D] as a strided [s, Hkv, D] view, holding {@code values}. */
    private static Tensor cacheView(Tensor cache, int s, float[] values) {
        Tensor view = cache.transpose(0, 1).slice(0, 0, s);
        view.copyFrom(values);
        return view;
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return v;
    }
}
