package dev.glimpse.visionencoder;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TowerGraphKeyTest {

    private static final VisionRequest FEATURES = VisionRequest.features(FeatureSelection.llava15());

    @Test
    void equalRequestsOfOneBatchShareAKey() {
        VisionRequest again = VisionRequest.features(FeatureSelection.llava15());
        assertEquals(TowerGraphKey.of(FEATURES, 2), TowerGraphKey.of(again, 2));
        VisionTaps taps = VisionTaps.of(EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED), 3, 1);
        assertEquals(TowerGraphKey.of(FEATURES.withTaps(taps), 1),
                TowerGraphKey.of(again.withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED), 1, 3)), 1));
    }

    @Test
    void batchAndEveryOutputOfTheRequestSplitKeys() {
        TowerGraphKey base = TowerGraphKey.of(FEATURES, 1);
        assertNotEquals(base, TowerGraphKey.of(FEATURES, 2));
        assertNotEquals(base, TowerGraphKey.of(FEATURES.withPooled(), 1));
        assertNotEquals(base, TowerGraphKey.of(FEATURES.withLastHiddenState(), 1));
        assertNotEquals(base, TowerGraphKey.of(FEATURES.withHiddenStates(), 1));
        assertNotEquals(base, TowerGraphKey.of(VisionRequest.features(FeatureSelection.of(java.util.List.of(-1), "full")), 1));
        assertNotEquals(base, TowerGraphKey.of(FEATURES.withTaps(
                VisionTaps.of(EnumSet.of(VisionTaps.Tap.HEAD_OUTPUT_NORMS), 2)), 1));
    }

    @Test
    void launchSettingsAreTheSortedCudaPropertiesLessTheGraphSwitch() {
        Properties p = new Properties();
        p.setProperty("glimpse.cuda.skinnyGemm", "off");
        p.setProperty("glimpse.cuda.attentionMma", "w4");
        p.setProperty(TowerGraphs.PROPERTY, "true");
        p.setProperty("glimpse.other", "x");
        p.setProperty("user.name", "someone");
        assertEquals("glimpse.cuda.attentionMma=w4,glimpse.cuda.skinnyGemm=off", TowerGraphKey.launchSettings(p));
        assertEquals("", TowerGraphKey.launchSettings(new Properties()));
    }

    @Test
    void aChangedCudaPropertySplitsTheKey() {
        String name = "glimpse.cuda.testOnlySetting";
        TowerGraphKey before = TowerGraphKey.of(FEATURES, 1);
        System.setProperty(name, "1");
        try {
            assertNotEquals(before, TowerGraphKey.of(FEATURES, 1));
        } finally {
            System.clearProperty(name);
        }
        assertEquals(before, TowerGraphKey.of(FEATURES, 1));
    }

    @Test
    void aRequestWithAPruningHookHasNoKey() {
        assertThrows(IllegalArgumentException.class,
                () -> TowerGraphKey.of(FEATURES.withPruning(block -> KeepSet.all()), 1));
    }
}
