package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link VisionLayout} on a host backend: layer_norm1 through {@link dev.glimpse.kernels.Backend#layerNormTokenMajor}
 * (there the layer norm and the copy it replaces) and no q/k/v stack (the checkpoint's tensors stay
 * separate), so a batch encodes to the same bits as with the property off.
 */
class VisionLayoutTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"clip", "siglip"})
    void hostTowerGivesTheSameBitsWithTheLayoutOn(String family) {
        TinyTower tower = new TinyTower(family.equals("clip") ? TinyTower.CLIP : TinyTower.SIGLIP);
        VisionRequest request = VisionRequest.features(FeatureSelection.llava15()).withLastHiddenState();
        try (tower; Tensor pixels = tower.pixels(3, 11)) {
            float[] off = features(tower, pixels, request, false);
            float[] on = features(tower, pixels, request, true);
            assertArrayEquals(off, on);
        } finally {
            System.clearProperty(VisionLayout.PROPERTY);
        }
    }

    private static float[] features(TinyTower tower, Tensor pixels, VisionRequest request, boolean layout) {
        System.setProperty(VisionLayout.PROPERTY, Boolean.toString(layout));
        try (VisionOutput out = tower.encoder.encode(pixels, request)) {
            return out.stackedFeatures().toFloatArray();
        }
    }
}
