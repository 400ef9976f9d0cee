package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import dev.glimpse.kernels.TopK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Batched top-k against a reference that fully sorts each row by (value descending, index
 * ascending), NaN last.
 */
class TopKSelectTest {

    @ParameterizedTest(name = "rows={0} n={1} k={2}")
    @CsvSource({"1, 1, 1", "3, 10, 1", "4, 10, 10", "2, 100, 37", "16, 576, 144", "5, 2304, 64",
            "2, 12544, 3136", "1, 20000, 19999", "3, 20000, 5"})
    void matchesAFullSortOnRandomRows(int rows, int n, int k) {
        float[] values = random(new SplittableRandom(rows * 1000L + n + k), rows * n, false);
        assertMatchesReference(values, rows, n, k);
    }

    @Test
    void equalValuesKeepTheLowerIndexFirst() {
        float[] values = random(new SplittableRandom(1), 4 * 3000, true);
        assertMatchesReference(values, 4, 3000, 1000);
        float[] constant = new float[50];
        Arrays.fill(constant, 2.5f);
        try (TopK top = select(constant, 1, 50, 7, TopK.Order.BY_VALUE)) {
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, top.indices().toIntArray());
        }
    }

    @Test
    void negativeAndPositiveZeroCountAsEqual() {
        try (TopK top = select(new float[] {-0.0f, 0.0f, -1f}, 1, 3, 1, TopK.Order.BY_VALUE)) {
            assertArrayEquals(new int[] {0}, top.indices().toIntArray());
        }
    }

    @Test
    void nanCountsAsSmallerThanAnyNumber() {
        float[] values = {Float.NaN, Float.NEGATIVE_INFINITY, 3f, Float.NaN, -7f};
        try (TopK top = select(values, 1, 5, 4, TopK.Order.BY_VALUE)) {
            assertArrayEquals(new int[] {2, 4, 1, 0}, top.indices().toIntArray());
            assertEquals(Float.NEGATIVE_INFINITY, top.values().get(0, 2));
            assertEquals(Float.NaN, top.values().get(0, 3));
        }
        float[] mixed = random(new SplittableRandom(2), 3 * 777, true);
        for (int i = 0; i < mixed.length; i += 5) {
            mixed[i] = Float.NaN;
        }
        assertMatchesReference(mixed, 3, 777, 700);
    }

    @Test
    void byIndexReturnsTheSameSetInRasterOrder() {
        float[] values = random(new SplittableRandom(3), 8 * 1000, true);
        try (TopK byValue = select(values, 8, 1000, 100, TopK.Order.BY_VALUE);
             TopK byIndex = select(values, 8, 1000, 100, TopK.Order.BY_INDEX)) {
            int[] v = byValue.indices().toIntArray();
            int[] ix = byIndex.indices().toIntArray();
            float[] vals = byIndex.values().toFloatArray();
            for (int r = 0; r < 8; r++) {
                int[] expected = Arrays.copyOfRange(v, r * 100, (r + 1) * 100);
                Arrays.sort(expected);
                assertArrayEquals(expected, Arrays.copyOfRange(ix, r * 100, (r + 1) * 100), "row " + r);
                for (int i = 0; i < 100; i++) {
                    assertEquals(values[r * 1000 + ix[r * 100 + i]], vals[r * 100 + i]);
                }
            }
        }
    }

    @Test
    void kZeroGivesEmptyRows() {
        try (TopK top = select(new float[] {1, 2, 3, 4, 5, 6}, 2, 3, 0, TopK.Order.BY_VALUE)) {
            assertArrayEquals(new int[] {2, 0}, top.indices().shape());
            assertArrayEquals(new int[] {2, 0}, top.values().shape());
        }
    }

    @Test
    void zeroRowsGiveAnEmptyResult() {
        try (TopK top = select(new float[0], 0, 9, 4, TopK.Order.BY_INDEX)) {
            assertArrayEquals(new int[] {0, 4}, top.indices().shape());
        }
    }

    @Test
    void readsANonContiguousView() {
        float[] values = random(new SplittableRandom(4), 40 * 30, false);
        try (Tensor storage = Tensor.of(values, 40, 30); CpuBackend backend = new CpuBackend()) {
            Tensor view = storage.transpose(0, 1);
            try (TopK top = backend.topK(view, 5, TopK.Order.BY_VALUE)) {
                float[] transposed = view.contiguous().toFloatArray();
                int[][] expected = reference(transposed, 30, 40, 5);
                for (int r = 0; r < 30; r++) {
                    assertArrayEquals(expected[r], Arrays.copyOfRange(top.indices().toIntArray(), r * 5, r * 5 + 5));
                }
            }
        }
    }

    @Test
    void rejectsKOutsideZeroToN() {
        try (Tensor t = Tensor.of(new float[6], 2, 3); CpuBackend backend = new CpuBackend()) {
            assertThrows(TensorException.class, () -> backend.topK(t, 4, TopK.Order.BY_VALUE));
            assertThrows(TensorException.class, () -> backend.topK(t, -1, TopK.Order.BY_VALUE));
        }
    }

    @Test
    void rejectsNonF32OrNonMatrixScores() {
        try (Tensor ints = Tensor.allocate(DType.I32, 2, 3);
             Tensor cube = Tensor.allocate(DType.F32, 2, 3, 4);
             CpuBackend backend = new CpuBackend()) {
            assertThrows(TensorException.class, () -> backend.topK(ints, 1, TopK.Order.BY_VALUE));
            assertThrows(TensorException.class, () -> backend.topK(cube, 1, TopK.Order.BY_VALUE));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static TopK select(float[] values, int rows, int n, int k, TopK.Order order) {
        try (Tensor t = Tensor.of(values, rows, n); CpuBackend backend = new CpuBackend()) {
            return backend.topK(t, k, order);
        }
    }

    private static void assertMatchesReference(float[] values, int rows, int n, int k) {
        int[][] expected = reference(values, rows, n, k);
        try (TopK top = select(values, rows, n, k, TopK.Order.BY_VALUE)) {
            int[] idx = top.indices().toIntArray();
            float[] val = top.values().toFloatArray();
            for (int r = 0; r < rows; r++) {
                assertArrayEquals(expected[r], Arrays.copyOfRange(idx, r * k, (r + 1) * k), "row " + r);
                for (int i = 0; i < k; i++) {
                    assertEquals(values[r * n + expected[r][i]], val[r * k + i], "row " + r + " value " + i);
                }
            }
        }
    }

    /** Full sort of each row's indices by (value desc, index asc), NaN last, -0.0 == 0.0. */
    private static int[][] reference(float[] values, int rows, int n, int k) {
        int[][] out = new int[rows][];
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            Comparator<Integer> byValue = (a, b) -> {
                float va = values[base + a];
                float vb = values[base + b];
                boolean na = Float.isNaN(va);
                boolean nb = Float.isNaN(vb);
                if (na || nb) {
                    return na == nb ? 0 : na ? 1 : -1;
                }
                return va == vb ? 0 : va > vb ? -1 : 1;
            };
            out[r] = IntStream.range(0, n).boxed().sorted(byValue.thenComparing(Comparator.naturalOrder()))
                    .limit(k).mapToInt(Integer::intValue).toArray();
        }
        return out;
    }

    /** Random values; with {@code ties}, drawn from a few dozen distinct values. */
    private static float[] random(SplittableRandom random, int count, boolean ties) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = ties ? random.nextInt(-20, 20) * 0.25f : (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }
}
