package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link dev.glimpse.kernels.Backend#layerNormTokenMajor}'s composition: row b, t of x lands in row t, b of out. */
class LayerNormTokenMajorTest {

    private final CpuBackend backend = new CpuBackend();

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void eachImageMajorRowLandsInItsTokenMajorRow(DType outType) {
        int batch = 3;
        int tokens = 5;
        int n = 12;
        Random random = new Random(5);
        float[] values = new float[batch * tokens * n];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        float[] g = new float[n];
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) random.nextGaussian();
            b[i] = (float) random.nextGaussian();
        }
        try (Tensor x = Tensor.of(values, batch, tokens, n); Tensor gamma = Tensor.of(g, n); Tensor beta = Tensor.of(b, n);
             Tensor imageMajor = Tensor.allocate(outType, batch, tokens, n);
             Tensor tokenMajor = Tensor.allocate(outType, tokens, batch, n)) {
            backend.layerNorm(x, gamma, beta, 1e-6f, imageMajor);
            backend.layerNormTokenMajor(x, gamma, beta, 1e-6f, tokenMajor);
            for (int img = 0; img < batch; img++) {
                for (int t = 0; t < tokens; t++) {
                    for (int i = 0; i < n; i++) {
                        assertEquals(imageMajor.get(img, t, i), tokenMajor.get(t, img, i), "image " + img + " token " + t);
                    }
                }
            }
        }
    }

    @Test
    void outputNotTokenMajorIsRejected() {
        try (Tensor x = Tensor.allocate(DType.F32, 2, 3, 4); Tensor gamma = Tensor.allocate(DType.F32, 4);
             Tensor out = Tensor.allocate(DType.F32, 2, 3, 4)) {
            assertThrows(TensorException.class, () -> backend.layerNormTokenMajor(x, gamma, null, 1e-6f, out));
        }
    }
}
