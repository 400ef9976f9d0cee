package dev.glimpse.visionencoder;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The byte limit of the vision tower's held CUDA graphs, as the property gives it. */
class TowerGraphsLimitTest {

    @AfterEach
    void clear() {
        System.clearProperty(TowerGraphs.MAX_BYTES_PROPERTY);
    }

    @Test
    void defaultsToTwoGibibytes() {
        System.clearProperty(TowerGraphs.MAX_BYTES_PROPERTY);
        assertEquals(2L << 30, TowerGraphs.maxBytes());
    }

    @Test
    void readsSizesWithUnits() {
        System.setProperty(TowerGraphs.MAX_BYTES_PROPERTY, "512m");
        assertEquals(512L << 20, TowerGraphs.maxBytes());
    }

    @Test
    void refusesZeroAndNonsenseNamingTheProperty() {
        for (String bad : new String[] {"0", "lots", "-1g"}) {
            System.setProperty(TowerGraphs.MAX_BYTES_PROPERTY, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, TowerGraphs::maxBytes);
            assertTrue(e.getMessage().contains(TowerGraphs.MAX_BYTES_PROPERTY), e.getMessage());
        }
    }
}
