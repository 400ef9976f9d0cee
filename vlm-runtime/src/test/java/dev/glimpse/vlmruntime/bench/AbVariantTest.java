package dev.glimpse.vlmruntime.bench;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AbVariantTest {

    private static final String SET = "glimpse.test.abVariant.set";
    private static final String UNSET = "glimpse.test.abVariant.unset";

    @AfterEach
    void clear() {
        System.clearProperty(SET);
        System.clearProperty(UNSET);
    }

    @Test
    void setsItsPropertiesWhileTheBodyRuns() {
        AbVariant v = variant();
        assertEquals("b|2", v.during(() -> System.getProperty(SET) + "|" + System.getProperty(UNSET)));
    }

    @Test
    void restoresPreviousValuesAndAbsences() {
        System.setProperty(SET, "a");
        variant().during(() -> null);
        assertEquals("a", System.getProperty(SET));
        assertNull(System.getProperty(UNSET));
    }

    @Test
    void restoresWhenTheBodyThrows() {
        System.setProperty(SET, "a");
        assertThrows(IllegalStateException.class, () -> variant().during(() -> {
            throw new IllegalStateException("request failed");
        }));
        assertEquals("a", System.getProperty(SET));
        assertNull(System.getProperty(UNSET));
    }

    @Test
    void aVariantWithoutPropertiesLeavesThemAlone() {
        System.setProperty(SET, "a");
        assertEquals("a", new AbVariant("base", Map.of()).during(() -> System.getProperty(SET)));
        assertEquals("", new AbVariant("base", Map.of()).describe());
    }

    private static AbVariant variant() {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(SET, "b");
        properties.put(UNSET, "2");
        return new AbVariant("v", properties);
    }
}
