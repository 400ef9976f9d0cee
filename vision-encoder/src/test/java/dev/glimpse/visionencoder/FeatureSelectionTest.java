package dev.glimpse.visionencoder;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FeatureSelectionTest {

    @Test
    void negativeLayersCountFromTheLastOfTheHiddenStatesIncludingEmbeddings() {
        assertArrayEquals(new int[] {23}, FeatureSelection.llava15().resolve(24));
        assertArrayEquals(new int[] {24, 0, 3}, FeatureSelection.of(List.of(-1, -25, 3), "full").resolve(24));
    }

    @Test
    void layerOutsideTheTowerIsAnErrorNamingTheValidRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FeatureSelection.of(-26, "default").resolve(24));
        assertTrue(e.getMessage().contains("-25 .. 24"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FeatureSelection.of(25, "default").resolve(24));
    }

    @Test
    void defaultStrategyDropsTheFirstTokenAndFullKeepsIt() {
        assertTrue(FeatureSelection.of(-2, "default").dropsFirstToken());
        assertFalse(FeatureSelection.of(-2, "full").dropsFirstToken());
    }

    @Test
    void unknownStrategyIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> FeatureSelection.of(-2, "cls_patch"));
    }
}
