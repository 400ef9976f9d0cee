package dev.glimpse.app.serve;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code --warmup}: auto warms on a GPU only, off never, a number of seconds on any device within that bound. */
class WarmupFlagTest {

    @Test
    void autoWarmsAGpuForItsBoundAndLeavesTheCpuCold() {
        WarmupFlag auto = WarmupFlag.parse("auto");
        assertEquals(Optional.of(Duration.ofSeconds(WarmupFlag.AUTO_SECONDS)), auto.bound(true));
        assertEquals(Optional.empty(), auto.bound(false));
    }

    @Test
    void offNeverWarms() {
        assertEquals(Optional.empty(), WarmupFlag.parse(" OFF ").bound(true));
    }

    @Test
    void secondsWarmAnyDeviceWithinThem() {
        WarmupFlag thirty = WarmupFlag.parse("30");
        assertEquals(Optional.of(Duration.ofSeconds(30)), thirty.bound(true));
        assertEquals(Optional.of(Duration.ofSeconds(30)), thirty.bound(false));
    }

    @Test
    void anythingElseIsRefusedNamingTheFlag() {
        for (String bad : new String[] {"0", "-5", "on", "1.5", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WarmupFlag.parse(bad));
            assertEquals("--warmup must be auto, off or a number of seconds >= 1, got '" + bad + "'", e.getMessage());
        }
    }
}
