package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.vlmruntime.SavedProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The rows a graph prefill runs for a prompt's rows, and what the padded rows hold ({@link PrefillPadding}). */
class PrefillPaddingTest {

    private final SavedProperties saved = SavedProperties.of(PrefillPadding.PROPERTY);

    @AfterEach
    void restoreProperty() {
        saved.close();
    }

    @Test
    void aQuantumOfZeroRunsTheExactRows() {
        assertEquals(74, PrefillPadding.rows(74, 0, 1000));
    }

    @Test
    void promptsOfOneQuantumShareItsMultiple() {
        for (int rows = 65; rows <= 80; rows++) {
            assertEquals(80, PrefillPadding.rows(rows, 16, 1000), rows + " rows");
        }
        assertEquals(96, PrefillPadding.rows(81, 16, 1000));
        assertEquals(16, PrefillPadding.rows(1, 16, 1000));
    }

    @Test
    void paddedRowsThatDoNotFitTheRoomLeaveTheExactRows() {
        assertEquals(80, PrefillPadding.rows(74, 16, 80));
        assertEquals(74, PrefillPadding.rows(74, 16, 79));
        assertEquals(74, PrefillPadding.rows(74, 16, 74));
    }

    @Test
    void paddedRowsCopyTheLastRealRow() {
        assertArrayEquals(new int[] {0, 1, 2, 2, 2}, PrefillPadding.sourceRows(3, 5));
        assertArrayEquals(new int[] {0, 1, 2}, PrefillPadding.sourceRows(3, 3));
        assertArrayEquals(new int[] {0, 0, 0, 0}, PrefillPadding.sourceRows(1, 4));
    }

    @Test
    void paddedRowsTakeTheLastRealPosition() {
        assertArrayEquals(new int[] {0, 4, 9, 9, 9}, PrefillPadding.positions(new int[] {0, 4, 9}, 5));
        assertArrayEquals(new int[] {0, 4, 9}, PrefillPadding.positions(new int[] {0, 4, 9}, 3));
    }

    @Test
    void theQuantumPropertyIsReadAtEveryCallAndDefaultsToExact() {
        System.clearProperty(PrefillPadding.PROPERTY);
        assertEquals(0, PrefillPadding.quantum());
        System.setProperty(PrefillPadding.PROPERTY, "");
        assertEquals(0, PrefillPadding.quantum(), "blank is unset");
        System.setProperty(PrefillPadding.PROPERTY, "16");
        assertEquals(16, PrefillPadding.quantum());
        System.setProperty(PrefillPadding.PROPERTY, "-16");
        assertThrows(IllegalArgumentException.class, PrefillPadding::quantum);
    }
}
