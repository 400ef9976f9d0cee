package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.LaunchSettings;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InProcessPropertiesTest {

    @Test
    void everyAllowedSettingButTheGraphAndSessionShapeSwitchesSplitsBothGraphKeys() {
        for (String name : InProcessProperties.ALLOWED) {
            if (InProcessProperties.GRAPH_SWITCHES.contains(name)
                    || InProcessProperties.SESSION_SHAPE_SWITCHES.contains(name)) {
                continue;
            }
            Properties p = new Properties();
            p.setProperty(name, "x");
            assertTrue(LaunchSettings.of(p, CudaLlavaBench.VISION_GRAPHS_PROPERTY).contains(name + "=x"),
                    name + " is not in the vision tower's graph key");
            assertTrue(LaunchSettings.of(p, DecoderSession.PREFILL_GRAPHS_PROPERTY).contains(name + "=x"),
                    name + " is not in the prefill graph key");
        }
    }

    @Test
    void theSessionShapeSwitchesAreAllowedAndSplitNoGraphKey() {
        for (String name : InProcessProperties.SESSION_SHAPE_SWITCHES) {
            assertDoesNotThrow(() -> InProcessProperties.check(name));
            assertFalse(name.startsWith("glimpse.cuda."), name + " would split graph keys it need not");
        }
    }

    @Test
    void theGraphSwitchesAreAllowed() {
        InProcessProperties.GRAPH_SWITCHES.forEach(name -> assertDoesNotThrow(() -> InProcessProperties.check(name)));
    }

    @Test
    void noRefusedPropertyIsAllowed() {
        for (String name : InProcessProperties.REFUSED.keySet()) {
            assertFalse(InProcessProperties.ALLOWED.contains(name), name);
            assertThrows(IllegalArgumentException.class, () -> InProcessProperties.check(name));
        }
    }

    @Test
    void subPropertiesOfARefusedOneAreRefusedWithItsReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InProcessProperties.check("glimpse.cuda.ltSearch.maxRows"));
        assertTrue(e.getMessage().contains("cuBLASLt plan"), e.getMessage());
    }
}
