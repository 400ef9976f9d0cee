package dev.glimpse.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizesTest {

    @Test
    void unitsAreBinaryAndCaseInsensitive() {
        assertEquals(1073741824L, Sizes.parseBytes("1073741824", "x"));
        assertEquals(512L << 20, Sizes.parseBytes("512m", "x"));
        assertEquals(24L << 30, Sizes.parseBytes("24G", "x"));
        assertEquals(3L << 39, Sizes.parseBytes("1.5t", "x"));
        assertEquals(2048, Sizes.parseBytes(" 2k ", "x"));
        assertEquals(0, Sizes.parseBytes("0", "x"));
    }

    @Test
    void nonsenseNamesItsSource() {
        for (String bad : new String[] {"", "g", "-1g", "lots", "1.5q", "NaN", "1e30t"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes(bad, "-Dsome.option"));
            assertTrue(e.getMessage().contains("-Dsome.option") && e.getMessage().contains("24g"), e.getMessage());
        }
    }
}
