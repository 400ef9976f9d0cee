package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AttentionTapsTest {

    private static final EnumSet<VisionTaps.Tap> CLIP_TAPS = EnumSet.of(VisionTaps.Tap.CLS_ATTENTION,
            VisionTaps.Tap.MEAN_ATTENTION_RECEIVED, VisionTaps.Tap.HEAD_OUTPUT_NORMS);
    private static final EnumSet<VisionTaps.Tap> SIGLIP_TAPS = EnumSet.of(VisionTaps.Tap.PROBE_ATTENTION,
            VisionTaps.Tap.MEAN_ATTENTION_RECEIVED, VisionTaps.Tap.HEAD_OUTPUT_NORMS);

    private static void assertBitIdentical(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), "element " + i);
        }
    }

    @Test
    void clipTapsDoNotChangeFeaturesOrPooledOutput() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(3, 1)) {
            VisionRequest plain = VisionRequest.features(FeatureSelection.llava15()).withPooled();
            try (VisionOutput without = t.encoder.encode(pixels, plain);
                 VisionOutput with = t.encoder.encode(pixels, plain.withTaps(VisionTaps.allLayers(4, CLIP_TAPS)))) {
                assertBitIdentical(without.stackedFeatures(), with.stackedFeatures());
                for (int b = 0; b < 3; b++) {
                    assertBitIdentical(without.image(b).pooled(), with.image(b).pooled());
                }
                assertTrue(without.image(0).taps().isEmpty());
                assertEquals(4, with.image(0).taps().size());
            }
        }
    }

    @Test
    void siglipTapsDoNotChangeLastHiddenStateOrPooledOutput() {
        try (TinyTower t = new TinyTower(TinyTower.SIGLIP); Tensor pixels = t.pixels(2, 2)) {
            VisionRequest plain = VisionRequest.lastHiddenStateAndPooled();
            try (VisionOutput without = t.encoder.encode(pixels, plain);
                 VisionOutput with = t.encoder.encode(pixels, plain.withTaps(VisionTaps.allLayers(4, SIGLIP_TAPS)))) {
                for (int b = 0; b < 2; b++) {
                    assertBitIdentical(without.image(b).lastHiddenState(), with.image(b).lastHiddenState());
                    assertBitIdentical(without.image(b).pooled(), with.image(b).pooled());
                }
                assertNull(without.image(0).probeAttention());
                assertArrayEquals(new int[] {4, 16}, with.image(1).probeAttention().shape());
            }
        }
    }

    @Test
    void onlyTheRequestedKindsAndLayersAreRecorded() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 3);
             VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15())
                     .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 1)))) {
            assertEquals(java.util.Set.of(1), out.image(0).taps().keySet());
            LayerTaps taps = out.image(0).taps().get(1);
            assertArrayEquals(new int[] {4, 17}, taps.clsAttention().shape());
            assertNull(taps.meanAttentionReceived());
            assertNull(taps.headOutputNorms());
        }
    }

    @Test
    void clsAttentionRowsAreProbabilityDistributions() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 4);
             VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15())
                     .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION, VisionTaps.Tap.MEAN_ATTENTION_RECEIVED), 2)))) {
            LayerTaps taps = out.image(0).taps().get(2);
            for (int h = 0; h < 4; h++) {
                double cls = 0;
                double mean = 0;
                for (int j = 0; j < 17; j++) {
                    cls += taps.clsAttention().get(h, j);
                    mean += taps.meanAttentionReceived().get(h, j);
                }
                assertEquals(1.0, cls, 1e-5);
                assertEquals(1.0, mean, 1e-5);
            }
        }
    }

    @Test
    void clsAttentionOnSiglipIsRejectedWithTheAlternatives() {
        try (TinyTower t = new TinyTower(TinyTower.SIGLIP); Tensor pixels = t.pixels(1, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encoder.encode(pixels,
                    VisionRequest.features(FeatureSelection.of(-1, "full"))
                            .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 0))));
            assertTrue(e.getMessage().contains("PROBE_ATTENTION"), e.getMessage());
        }
    }

    @Test
    void tapOfAMissingLayerIsRejected() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encoder.encode(pixels,
                    VisionRequest.features(FeatureSelection.llava15())
                            .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 4))));
            assertTrue(e.getMessage().contains("tap layer 4"), e.getMessage());
        }
    }

    @Test
    void layersPastTheSelectedOneDoNotRun() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 7)) {
            Map<String, Tensor> broken = new HashMap<>(t.tensors);
            Tensor nan = Tensor.allocate(DType.F32, 32, 64);
            nan.copyFrom(filled(32 * 64, Float.NaN));
            broken.put("encoder.layers.3.mlp.fc2.weight", nan);
            VisionTransformer lastLayerBroken = new VisionTransformer(t.backend, VisionWeights.of(broken, t.config));
            VisionRequest penultimate = VisionRequest.features(FeatureSelection.llava15());
            try (nan; VisionOutput good = t.encoder.encode(pixels, penultimate);
                 VisionOutput skipped = lastLayerBroken.encode(pixels, penultimate)) {
                assertBitIdentical(good.stackedFeatures(), skipped.stackedFeatures());
            }
        }
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return v;
    }
}
