package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link dev.glimpse.kernels.Backend#attentionImagesAsHeads}'s composition: output (t, b * heads + h)
 * of the images-as-heads attention lands in image b's row t, columns h D.., of the image-major out.
 */
class AttentionImagesAsHeadsTest {

    private final CpuBackend backend = new CpuBackend();

    @Test
    void eachHeadRowLandsInItsImagesRow() {
        int tokens = 6;
        int images = 3;
        int heads = 2;
        int d = 4;
        try (Tensor q = random(1, tokens, images * heads, d); Tensor k = random(2, tokens, images * heads, d);
             Tensor v = random(3, tokens, images * heads, d); Tensor rows = Tensor.allocate(DType.F32, tokens, images * heads, d);
             Tensor out = Tensor.allocate(DType.BF16, images, tokens, heads * d);
             Tensor expected = Tensor.allocate(DType.BF16, 1)) {
            backend.attention(q, k, v, AttentionMask.BIDIRECTIONAL, 0.5f, rows, null, null, AttentionPrecision.BF16);
            backend.attentionImagesAsHeads(q, k, v, 0.5f, out, AttentionPrecision.BF16);
            for (int t = 0; t < tokens; t++) {
                for (int b = 0; b < images; b++) {
                    for (int h = 0; h < heads; h++) {
                        for (int i = 0; i < d; i++) {
                            expected.set(rows.get(t, b * heads + h, i), 0);
                            assertEquals(expected.get(0), out.get(b, t, h * d + i), "token " + t + " image " + b + " head " + h);
                        }
                    }
                }
            }
        }
    }

    @Test
    void outputOfAnotherWidthIsRejected() {
        try (Tensor q = Tensor.allocate(DType.F32, 4, 6, 8); Tensor out = Tensor.allocate(DType.F32, 3, 4, 8)) {
            assertThrows(TensorException.class,
                    () -> backend.attentionImagesAsHeads(q, q, q, 1f, out, AttentionPrecision.F32));
        }
    }

    private static Tensor random(long seed, int... shape) {
        Random random = new Random(seed);
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return Tensor.of(values, shape);
    }
}
