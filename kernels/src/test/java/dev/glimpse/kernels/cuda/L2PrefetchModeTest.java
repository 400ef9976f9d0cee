package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code -Dglimpse.cuda.prefillL2Prefetch}: off unless asked, {@code true} is the line-by-line kernel. */
class L2PrefetchModeTest {

    @AfterEach
    void propertyBack() {
        System.clearProperty(L2PrefetchMode.PROPERTY);
    }

    @Test
    void offByDefault() {
        System.clearProperty(L2PrefetchMode.PROPERTY);
        assertEquals(L2PrefetchMode.OFF, L2PrefetchMode.configured());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"false, OFF", "off, OFF", "true, LINES", "lines, LINES", "bulk, BULK", " BULK , BULK"})
    void propertyValuesNameTheModes(String value, L2PrefetchMode expected) {
        System.setProperty(L2PrefetchMode.PROPERTY, value);
        assertEquals(expected, L2PrefetchMode.configured());
    }

    @Test
    void anUnknownValueFailsNamingTheAcceptedOnes() {
        System.setProperty(L2PrefetchMode.PROPERTY, "yes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, L2PrefetchMode::configured);
        assertEquals("-Dglimpse.cuda.prefillL2Prefetch=yes is not one of false, true, lines, bulk", e.getMessage());
    }
}
