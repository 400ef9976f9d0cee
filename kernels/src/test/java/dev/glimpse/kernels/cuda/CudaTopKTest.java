package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class CudaTopKTest {

    @ParameterizedTest(name = "rows={0} n={1} k={2}")
    @CsvSource({
            "1, 1, 1", "3, 5, 2", "16, 576, 144", "16, 576, 64", "64, 576, 576", "1, 2304, 576", "16, 2304, 64",
            "64, 12544, 3136", "4, 12544, 64", "2, 70000, 17500", "2, 70000, 64", "1, 40000, 30000", "5, 1000, 0"})
    void randomScoresMatchCpuExactly(int rows, int n, int k) {
        float[] values = new float[rows * n];
        SplittableRandom r = new SplittableRandom(n * 31L + k);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextDouble(-10, 10);
        }
        assertSameAsCpu(values, rows, n, k, "random");
    }

    @ParameterizedTest(name = "n={0} k={1}")
    @CsvSource({"576, 100", "2304, 1000", "12544, 64", "70000, 20000"})
    void tiesNaNsZerosAndInfinitiesFollowTheCpuRules(int n, int k) {
        int rows = 3;
        float[] values = new float[rows * n];
        SplittableRandom r = new SplittableRandom(n);
        float[] specials = {Float.NaN, 0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, -1f};
        for (int i = 0; i < values.length; i++) {
            values[i] = r.nextInt(10) == 0 ? specials[r.nextInt(specials.length)] : r.nextInt(8) - 4;
        }
        assertSameAsCpu(values, rows, n, k, "ties/NaN/zeros/inf");
    }

    @Test
    void allEqualScoresKeepTheLowestIndices() {
        assertSameAsCpu(new float[2 * 3000], 2, 3000, 700, "all equal");
    }

    private static void assertSameAsCpu(float[] values, int rows, int n, int k, String what) {
        CudaBackend gpu = cuda();
        try (Tensor scores = Tensor.of(values, rows, n); Tensor device = gpu.upload(scores)) {
            for (TopK.Order order : TopK.Order.values()) {
                try (TopK expected = CPU.topK(scores, k, order); TopK actual = gpu.topK(device, k, order);
                     Tensor indices = gpu.download(actual.indices()); Tensor vals = gpu.download(actual.values())) {
                    String label = what + " rows=" + rows + " n=" + n + " k=" + k + " " + order;
                    assertArrayEquals(expected.indices().toIntArray(), indices.toIntArray(), label + " indices");
                    assertArrayEquals(expected.values().toFloatArray(), vals.toFloatArray(), 0f, label + " values");
                    System.out.println("PARITY topK " + label + " exact");
                }
            }
        }
    }
}
