package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code batchedMatmul}: out[b] = alpha * a[b] @ op(b[b]) against a double reference. */
class GemmBatchedMatmulTest {

    @ParameterizedTest(name = "{0} transposeB={1}")
    @CsvSource({"VECTOR, true", "VECTOR, false", "BLAS, true", "BLAS, false", "AUTO, true", "AUTO, false"})
    void matchesTheReferenceForBothLayoutsOfB(GemmPath path, boolean transposeB) {
        SplittableRandom random = new SplittableRandom(11);
        int batch = 3;
        int m = 19;
        int k = 21;
        int n = 13;
        try (Tensor a = GemmLinearTest.random(random, DType.F32, batch, m, k);
             Tensor b = transposeB ? GemmLinearTest.random(random, DType.F32, batch, n, k)
                     : GemmLinearTest.random(random, DType.F32, batch, k, n);
             Tensor out = Tensor.allocate(DType.F32, batch, m, n)) {
            Gemm.batchedMatmul(a, b, transposeB, 0.5f, out, path);
            assertMatches(a, b, transposeB, 0.5f, out);
        }
    }

    @ParameterizedTest(name = "transposeB={0}")
    @CsvSource({"true", "false"})
    void readsStridedViewsOfAAndB(boolean transposeB) {
        SplittableRandom random = new SplittableRandom(12);
        int batch = 2;
        int m = 9;
        int k = 17;
        int n = 8;
        try (Tensor aStorage = GemmLinearTest.random(random, DType.F32, batch, k, m);
             Tensor bStorage = GemmLinearTest.random(random, DType.F32, batch, k + n + 4, k + n + 4);
             Tensor out = Tensor.allocate(DType.F32, batch, m, n)) {
            Tensor a = aStorage.transpose(1, 2);
            Tensor b = transposeB ? bStorage.slice(1, 2, 2 + n).slice(2, 1, 1 + k)
                    : bStorage.slice(1, 3, 3 + k).slice(2, 0, n);
            Gemm.batchedMatmul(a, b, transposeB, 1f, out, GemmPath.AUTO);
            assertMatches(a, b, transposeB, 1f, out);
        }
    }

    @Test
    void rejectsBatchesThatDoNotChain() {
        try (Tensor a = Tensor.allocate(DType.F32, 2, 3, 4);
             Tensor b = Tensor.allocate(DType.F32, 2, 5, 6);
             Tensor out = Tensor.allocate(DType.F32, 2, 3, 6)) {
            assertThrows(TensorException.class, () -> Gemm.batchedMatmul(a, b, false, 1f, out));
        }
    }

    private static void assertMatches(Tensor a, Tensor b, boolean transposeB, float alpha, Tensor out) {
        int batch = a.dim(0);
        int m = a.dim(1);
        int k = a.dim(2);
        int n = out.dim(2);
        for (int bi = 0; bi < batch; bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    double scale = 0;
                    for (int e = 0; e < k; e++) {
                        double p = (double) a.get(bi, i, e) * (transposeB ? b.get(bi, j, e) : b.get(bi, e, j));
                        s += p;
                        scale += Math.abs(p);
                    }
                    assertEquals(alpha * s, out.get(bi, i, j), 1e-4 * alpha * scale + 1e-6,
                            "out[" + bi + ", " + i + ", " + j + "]");
                }
            }
        }
    }
}
