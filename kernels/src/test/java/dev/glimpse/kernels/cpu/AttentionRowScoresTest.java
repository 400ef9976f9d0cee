package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AttentionRowScoresTest {

    private static final CpuBackend CPU = new CpuBackend();

    @Test
    void sumsEachLayersHeadMeanSkippingTheFirstColumns() {
        try (Tensor a = Tensor.of(new float[] {9, 0.1f, 0.2f, 9, 0.3f, 0.6f}, 2, 3);
             Tensor b = Tensor.of(new float[] {9, 1f, 0f, 9, 0f, 1f}, 2, 3);
             Tensor out = Tensor.allocate(DType.F32, 1, 2)) {
            CPU.attentionRowScores(List.of(a, b), 1, out);
            assertArrayEquals(new float[] {(float) (((double) 0.1f + 0.3f) / 2 + 0.5), (float) (((double) 0.2f + 0.6f) / 2 + 0.5)},
                    out.toFloatArray(), 0f);
        }
    }

    @Test
    void matchesTheDoubleFormulaBitForBitOnStridedBlocks() {
        SplittableRandom r = new SplittableRandom(3);
        int heads = 16;
        int width = 577;
        float[] values = new float[3 * heads * width];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextDouble(0, 0.01);
        }
        try (Tensor all = Tensor.of(values, heads, 3, width);
             Tensor out = Tensor.allocate(DType.F32, 1, width - 1)) {
            List<Tensor> layers = List.of(all.select(1, 0), all.select(1, 1), all.select(1, 2));
            CPU.attentionRowScores(layers, 1, out);
            float[] expected = new float[width - 1];
            for (int i = 0; i < expected.length; i++) {
                double sum = 0;
                for (int l = 0; l < 3; l++) {
                    double layer = 0;
                    for (int h = 0; h < heads; h++) {
                        layer += values[(h * 3 + l) * width + 1 + i];
                    }
                    sum += layer / heads;
                }
                expected[i] = (float) sum;
            }
            assertArrayEquals(expected, out.toFloatArray(), 0f);
        }
    }

    @Test
    void refusesBlocksOfDifferentShapes() {
        try (Tensor a = Tensor.of(new float[6], 2, 3); Tensor b = Tensor.of(new float[4], 2, 2);
             Tensor out = Tensor.allocate(DType.F32, 1, 2)) {
            assertThrows(TensorException.class, () -> CPU.attentionRowScores(List.of(a, b), 1, out));
        }
    }
}
