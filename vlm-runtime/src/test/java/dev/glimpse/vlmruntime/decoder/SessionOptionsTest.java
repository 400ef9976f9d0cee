package dev.glimpse.vlmruntime.decoder;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** How many rows a prefill chunk holds. */
class SessionOptionsTest {

    private static final long ROW_BYTES = 80_000;

    @Test
    void automaticChunksOnTheHostHoldTheDefaultRows() {
        assertEquals(SessionOptions.DEFAULT_PREFILL_CHUNK, SessionOptions.of(10_000).prefillRows(true, ROW_BYTES));
    }

    @Test
    void automaticChunksOnAGpuHoldWhatTheScratchBudgetHolds() {
        long budgetRows = SessionOptions.DEVICE_PREFILL_SCRATCH_BYTES / ROW_BYTES;
        assertEquals(budgetRows, SessionOptions.of(100_000).prefillRows(false, ROW_BYTES));
    }

    @Test
    void automaticChunksOnAGpuTakeAWholePromptThatFits() {
        assertEquals(6_400, SessionOptions.of(6_400).prefillRows(false, ROW_BYTES));
    }

    @Test
    void automaticChunksOnAGpuNeverHoldFewerThanTheDefaultRows() {
        assertEquals(SessionOptions.DEFAULT_PREFILL_CHUNK,
                SessionOptions.of(100_000).prefillRows(false, SessionOptions.DEVICE_PREFILL_SCRATCH_BYTES));
    }

    @Test
    void aGivenChunkSizeHoldsOnEveryDevice() {
        SessionOptions options = SessionOptions.of(10_000).withPrefillChunkSize(64);
        assertEquals(64, options.prefillRows(true, ROW_BYTES));
        assertEquals(64, options.prefillRows(false, ROW_BYTES));
    }

    @Test
    void chunksNeverExceedTheSessionCapacity() {
        assertEquals(40, SessionOptions.of(40).withPrefillChunkSize(64).prefillRows(true, ROW_BYTES));
        assertEquals(40, SessionOptions.of(40).prefillRows(true, ROW_BYTES));
    }

    @Test
    void negativeChunkSizesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> SessionOptions.of(40).withPrefillChunkSize(-1));
    }
}
