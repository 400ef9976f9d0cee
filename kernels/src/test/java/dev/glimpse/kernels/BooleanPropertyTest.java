package dev.glimpse.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BooleanPropertyTest {

    private static final String NAME = "glimpse.test.flag";

    @Test
    void trueAndFalseAreReadInAnyCaseAndWithSpaces() {
        assertTrue(BooleanProperty.parse(NAME, " TRUE ", false));
        assertFalse(BooleanProperty.parse(NAME, "False", true));
    }

    @Test
    void unsetOrBlankIsTheDefault() {
        assertTrue(BooleanProperty.parse(NAME, null, true));
        assertFalse(BooleanProperty.parse(NAME, "", false));
        assertTrue(BooleanProperty.parse(NAME, "  ", true));
    }

    @Test
    void anythingElseIsAnErrorNamingThePropertyAndTheValue() {
        for (String value : new String[] {"off", "0", "no", "flase"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BooleanProperty.parse(NAME, value, true));
            assertEquals("-D" + NAME + " must be true or false (blank: true), got '" + value + "'", e.getMessage());
        }
    }
}
