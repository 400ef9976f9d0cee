package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WeightStaging}'s property: early by default, the three names in any case, anything else refused by name. */
class WeightStagingTest {

    @Test
    void unsetOrBlankIsEarly() {
        assertEquals(WeightStaging.EARLY, WeightStaging.parse(null));
        assertEquals(WeightStaging.EARLY, WeightStaging.parse("  "));
    }

    @Test
    void theModesParseInAnyCase() {
        assertEquals(WeightStaging.OFF, WeightStaging.parse("off"));
        assertEquals(WeightStaging.STAGED, WeightStaging.parse("Staged"));
        assertEquals(WeightStaging.EARLY, WeightStaging.parse(" EARLY "));
    }

    @Test
    void anUnknownModeIsRefusedWithTheProperty() {
        CudaException e = assertThrows(CudaException.class, () -> WeightStaging.parse("true"));
        assertTrue(e.getMessage().contains(WeightStaging.PROPERTY), e.getMessage());
        assertTrue(e.getMessage().contains("off, staged, early"), e.getMessage());
    }
}
