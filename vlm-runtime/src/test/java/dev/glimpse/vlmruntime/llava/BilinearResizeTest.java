package dev.glimpse.vlmruntime.llava;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BilinearResizeTest {

    @Test
    void matrixTimesGridEqualsTheResizeToRounding() {
        int side = 27;
        int pooled = 14;
        int dim = 5;
        SplittableRandom random = new SplittableRandom(3);
        float[] grid = new float[side * side * dim];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = (float) random.nextGaussian();
        }
        float[] expected = BilinearResize.resize(grid, side, side, dim, pooled, pooled);
        float[] m = BilinearResize.matrix(side, side, pooled, pooled);
        int in = side * side;
        for (int o = 0; o < pooled * pooled; o++) {
            for (int c = 0; c < dim; c++) {
                double sum = 0;
                for (int p = 0; p < in; p++) {
                    sum += m[o * in + p] * grid[p * dim + c];
                }
                assertEquals(expected[o * dim + c], sum, 1e-5, "token " + o + " channel " + c);
            }
        }
    }
}
