package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Random;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexingTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(13);

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void copyConvertsFromATransposedViewToAnyFloatDtype(DType target) {
        float[] x = Fixtures.values(random, 5 * 7);
        try (Tensor src = Fixtures.transposed(x, 5, 7); Tensor dst = Tensor.allocate(target, 5, 7)) {
            backend.copy(src, dst);
            assertArrayEquals(Fixtures.rounded(target, x), dst.toFloatArray());
        }
    }

    @Test
    void copyWritesIntoAStridedDestination() {
        float[] x = Fixtures.values(random, 3 * 4);
        try (Tensor src = Tensor.of(x, 3, 4); Tensor wide = Tensor.allocate(DType.BF16, 4, 3)) {
            backend.copy(src, wide.transpose(0, 1));
            assertArrayEquals(Fixtures.rounded(DType.BF16, x), wide.transpose(0, 1).toFloatArray());
        }
    }

    @Test
    void copyConvertsBetweenIntegerDtypes() {
        try (Tensor src = Tensor.ofInts(new int[] {1, -2, 300}, 3); Tensor dst = Tensor.allocate(DType.I64, 3)) {
            backend.copy(src, dst);
            assertArrayEquals(new int[] {1, -2, 300}, dst.toIntArray());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void embeddingLooksUpRowsAsF32(DType dtype) {
        int vocab = 11;
        int d = 17;
        float[] table = Fixtures.rounded(dtype, Fixtures.values(random, vocab * d));
        int[] ids = {3, 0, 10, 3};
        try (Tensor t = Fixtures.ofDType(dtype, table, vocab, d); Tensor out = Tensor.allocate(DType.F32, ids.length, d)) {
            backend.embedding(t, ids, out);
            float[] expected = new float[ids.length * d];
            for (int i = 0; i < ids.length; i++) {
                System.arraycopy(table, ids[i] * d, expected, i * d, d);
            }
            assertArrayEquals(expected, out.toFloatArray());
        }
    }

    @Test
    void embeddingRejectsAnIdOutsideTheVocabularyNamingBoth() {
        try (Tensor t = Tensor.allocate(DType.F32, 5, 2); Tensor out = Tensor.allocate(DType.F32, 1, 2)) {
            TensorException e = assertThrows(TensorException.class, () -> backend.embedding(t, new int[] {5}, out));
            assertTrue(e.getMessage().contains("5") && e.getMessage().contains("size 5"), e.getMessage());
        }
    }

    @Test
    void gatherRowsSelectsAlongDimZeroForRankThree() {
        float[] x = Fixtures.values(random, 4 * 3 * 5);
        int[] rows = {2, 2, 0};
        try (Tensor tx = Tensor.of(x, 4, 3, 5); Tensor out = Tensor.allocate(DType.F32, 3, 3, 5)) {
            backend.gatherRows(tx, rows, out);
            float[] expected = new float[3 * 15];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(x, rows[i] * 15, expected, i * 15, 15);
            }
            assertArrayEquals(expected, out.toFloatArray());
        }
    }

    @Test
    void gatherRowsFromAnIndexTensorEqualsGatherRowsFromAnArray() {
        float[] x = Fixtures.values(random, 6 * 4);
        int[] rows = {5, 1, 1, 3};
        try (Tensor tx = Tensor.of(x, 6, 4); Tensor indices = Tensor.ofInts(rows, 1, rows.length);
             Tensor fromArray = Tensor.allocate(DType.F32, rows.length, 4);
             Tensor fromTensor = Tensor.allocate(DType.F32, rows.length, 4)) {
            backend.gatherRows(tx, rows, fromArray);
            backend.gatherRows(tx, indices.select(0, 0), fromTensor);
            assertArrayEquals(fromArray.toFloatArray(), fromTensor.toFloatArray());
        }
    }

    @Test
    void gatherRowsRefusesIndicesThatAreNotI32() {
        try (Tensor x = Tensor.allocate(DType.F32, 4, 2); Tensor rows = Tensor.allocate(DType.I64, 2);
             Tensor out = Tensor.allocate(DType.F32, 2, 2)) {
            TensorException e = assertThrows(TensorException.class, () -> backend.gatherRows(x, rows, out));
            assertTrue(e.getMessage().contains("I32"), e.getMessage());
        }
    }

    @Test
    void gatherRowsOfNoRowsIsEmpty() {
        try (Tensor x = Tensor.allocate(DType.F32, 4, 2); Tensor out = Tensor.allocate(DType.F32, 0, 2)) {
            backend.gatherRows(x, new int[0], out);
        }
    }

    @Test
    void concatJoinsPartsAlongAnInnerAxisIncludingEmptyParts() {
        float[] a = Fixtures.values(random, 2 * 3);
        float[] b = Fixtures.values(random, 2 * 1);
        try (Tensor ta = Tensor.of(a, 2, 3); Tensor tb = Fixtures.transposed(b, 2, 1); Tensor empty = Tensor.allocate(DType.F32, 2, 0);
             Tensor out = Tensor.allocate(DType.F32, 2, 4)) {
            backend.concat(1, List.of(ta, empty, tb), out);
            double[] expected = {a[0], a[1], a[2], b[0], a[3], a[4], a[5], b[1]};
            assertClose(expected, out.toFloatArray(), 0);
        }
    }

    @Test
    void concatRejectsMismatchedParts() {
        try (Tensor a = Tensor.allocate(DType.F32, 2, 3); Tensor b = Tensor.allocate(DType.F32, 3, 3);
             Tensor out = Tensor.allocate(DType.F32, 2, 6)) {
            assertThrows(TensorException.class, () -> backend.concat(1, List.of(a, b), out));
        }
    }

    @Test
    void argmaxTakesTheFirstIndexOnTiesAndTreatsNaNAsLargest() {
        float nan = Float.NaN;
        try (Tensor x = Tensor.of(new float[] {1, 5, 5, 2, -1, nan, 9, nan, 0, 0, 0, 0}, 3, 4)) {
            assertArrayEquals(new int[] {1, 1, 0}, backend.argmax(x));
        }
    }

    @Test
    void argmaxReadsAnyLength() {
        float[] x = Fixtures.values(random, 2 * 1001);
        try (Tensor tx = Fixtures.transposed(x, 2, 1001)) {
            int[] result = backend.argmax(tx);
            for (int r = 0; r < 2; r++) {
                int best = 0;
                for (int i = 1; i < 1001; i++) {
                    if (x[r * 1001 + i] > x[r * 1001 + best]) {
                        best = i;
                    }
                }
                assertEquals(best, result[r], "row " + r);
            }
        }
    }

    @Test
    void copyOfZeroElementsDoesNothing() {
        try (Tensor a = Tensor.allocate(DType.F32, 0, 3); Tensor b = Tensor.allocate(DType.BF16, 0, 3)) {
            backend.copy(a, b);
            assertEquals(0, b.numel());
        }
    }
}
