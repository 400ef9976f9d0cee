package dev.glimpse.visionencoder;

import dev.glimpse.kernels.BooleanProperty;

/** The vision encoder's on/off switches, read strictly when a model loads (RuntimeSettings). */
public final class VisionSwitches {

    private VisionSwitches() {
    }

    /**
     * Reads {@value VisionLayout#PROPERTY} and {@code glimpse.cuda.visionGraphs} ({@link TowerGraphs}).
     *
     * @throws IllegalArgumentException for a value other than true, false or blank
     */
    public static void check() {
        VisionLayout.enabled();
        BooleanProperty.read(TowerGraphs.PROPERTY, true);
    }
}
