package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class AveragePoolingTest {

    private final CpuBackend backend = new CpuBackend();

    @Test
    void evenGridAveragesEachTwoByTwoWindow() {
        // 2 x 4 grid, feature dim 1: rows [0 1 2 3], [4 5 6 7] -> (0+1+4+5)/4, (2+3+6+7)/4
        try (Tensor f = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 8, 1);
             AveragePooling.PooledFeatures p = new AveragePooling().pool(backend, f, new TokenGrid(2, 4))) {
            assertEquals(new TokenGrid(1, 2), p.grid());
            assertArrayEquals(new float[] {2.5f, 4.5f}, p.features().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void oddGridAveragesOnlyTheCellsInsideTheGrid() {
        // 3 x 3 grid of values 0..8, two channels (v, -v)
        float[] values = new float[18];
        for (int i = 0; i < 9; i++) {
            values[2 * i] = i;
            values[2 * i + 1] = -i;
        }
        try (Tensor f = Tensor.of(values, 9, 2);
             AveragePooling.PooledFeatures p = new AveragePooling().pool(backend, f, new TokenGrid(3, 3))) {
            assertEquals(new TokenGrid(2, 2), p.grid());
            // (0+1+3+4)/4 = 2, (2+5)/2 = 3.5, (6+7)/2 = 6.5, 8
            assertArrayEquals(new float[] {2, -2, 3.5f, -3.5f, 6.5f, -6.5f, 8, -8}, p.features().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void llavaGridPoolsTo144Tokens() {
        assertEquals(new TokenGrid(12, 12), AveragePooling.pooledGrid(new TokenGrid(24, 24)));
    }
}
