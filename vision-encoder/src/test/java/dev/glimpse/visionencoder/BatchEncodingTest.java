package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A batch runs attention with its images side by side as heads (one call, rows copied to token-major
 * order and back); each image's outputs are those it gets encoded alone, up to the GEMM kernel's
 * summation blocking for other row counts (AttentionTapsTest shows the attention itself bit-identical
 * to per-image attention, which taps force).
 */
class BatchEncodingTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"clip", "siglip"})
    void eachImageOfABatchEncodesAsItDoesAlone(String family) {
        TinyTower tower = new TinyTower(family.equals("clip") ? TinyTower.CLIP : TinyTower.SIGLIP);
        VisionRequest request = VisionRequest.features(FeatureSelection.llava15()).withLastHiddenState();
        int batch = 3;
        try (tower; Tensor pixels = tower.pixels(batch, 11);
             VisionOutput together = tower.encoder.encode(pixels, request)) {
            for (int b = 0; b < batch; b++) {
                try (VisionOutput alone = tower.encoder.encode(pixels.slice(0, b, b + 1), request)) {
                    assertClose(alone.image(0).features(), together.image(b).features());
                    assertClose(alone.image(0).lastHiddenState(), together.image(b).lastHiddenState());
                }
            }
        }
    }

    private static void assertClose(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], 1e-5f * Math.max(1f, Math.abs(e[i])), "element " + i);
        }
    }
}
