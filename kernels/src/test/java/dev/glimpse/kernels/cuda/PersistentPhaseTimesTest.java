package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reduction of the timed persistent kernel's records ({@link PersistentPhaseTimes}) over
 * synthetic buffers whose work, waits and barrier latencies are known.
 */
class PersistentPhaseTimesTest {

    private static final int PHASES = PersistentPhaseTimes.PHASES.size();

    /**
     * Three blocks starting at 0, 10 and 20 ns over two layers. At every barrier block b arrives
     * {@code work[b]} ns after its previous release and all three leave together 100 ns after the
     * last arrival, except that block 2 leaves 20 ns later still.
     */
    private static long[] synthetic(long[] work) {
        int blocks = work.length;
        long[] t = new long[(int) PersistentPhaseTimes.longs(blocks, 2)];
        long[] released = new long[blocks];
        for (int b = 0; b < blocks; b++) {
            t[b] = 10L * b;
            released[b] = t[b];
        }
        for (int layer = 0; layer < 2; layer++) {
            for (int phase = 0; phase < PHASES; phase++) {
                long lastArrival = 0;
                long[] arrival = new long[blocks];
                for (int b = 0; b < blocks; b++) {
                    arrival[b] = released[b] + work[b];
                    lastArrival = Math.max(lastArrival, arrival[b]);
                }
                for (int b = 0; b < blocks; b++) {
                    int slot = blocks + ((layer * PHASES + phase) * blocks + b) * 2;
                    released[b] = lastArrival + 100 + (b == 2 ? 20 : 0);
                    t[slot] = arrival[b];
                    t[slot + 1] = released[b];
                }
            }
        }
        return t;
    }

    @Test
    void firstPhaseWorkCountsFromEachBlocksStart() {
        PersistentPhaseTimes times = PersistentPhaseTimes.of(synthetic(new long[] {1000, 3000, 2000}), 3, 2);
        assertEquals(0L, times.previousRelease(0, 0, 0));
        assertEquals(20L, times.previousRelease(0, 0, 2));
        assertEquals(2020L, times.arrival(0, 0, 2));
    }

    @Test
    void workIsTheMedianAndMaxOfArrivalMinusPreviousRelease() {
        PersistentPhaseTimes.Phase down = PersistentPhaseTimes.of(synthetic(new long[] {1000, 3000, 2000}), 3, 2)
                .phases().get(PHASES - 1);
        assertEquals("down", down.name());
        assertEquals(2.0, down.workMedianUs(), 1e-9);
        assertEquals(3.0, down.workMaxUs(), 1e-9);
    }

    @Test
    void waitIsReleaseMinusArrivalAndLatencyIsFirstReleaseMinusLastArrival() {
        PersistentPhaseTimes.Phase gateUp = PersistentPhaseTimes.of(synthetic(new long[] {1000, 3000, 2000}), 3, 2)
                .phases().get(3);
        // Every block waits for the slowest (3000 ns) plus 100 ns; block 2, released 20 ns late each time, waits 20 more.
        long[] waits = {100 + 2000, 100, 100 + 1000 + 20 - 20};
        assertEquals(waits[2] / 1e3, gateUp.waitMedianUs(), 1e-9);
        assertEquals(waits[0] / 1e3, gateUp.waitMaxUs(), 1e-9);
        assertEquals(0.1, gateUp.barrierLatencyUs(), 1e-9);
    }

    @Test
    void phasesAreNamedInLaunchOrder() {
        List<String> names = PersistentPhaseTimes.of(synthetic(new long[] {5, 5}), 2, 2).phases().stream()
                .map(PersistentPhaseTimes.Phase::name).toList();
        assertEquals(List.of("qkv", "attention", "o_proj", "gate_up", "down"), names);
    }

    @Test
    void recordsThatRunForwardHaveNoDisorder() {
        assertNull(PersistentPhaseTimes.of(synthetic(new long[] {1000, 3000, 2000}), 3, 2).firstDisorder());
    }

    @Test
    void aReleaseBeforeItsArrivalIsNamed() {
        long[] t = synthetic(new long[] {1000, 3000, 2000});
        int slot = 3 + ((1 * PHASES + 2) * 3 + 1) * 2;
        t[slot + 1] = t[slot] - 1;
        String disorder = PersistentPhaseTimes.of(t, 3, 2).firstDisorder();
        assertNotNull(disorder);
        assertTrue(disorder.startsWith("layer 1 o_proj block 1"), disorder);
    }

    @Test
    void anArrivalBeforeThePreviousReleaseIsNamed() {
        long[] t = synthetic(new long[] {1000, 3000, 2000});
        t[0] = t[3] + 1;   // block 0 "started" after its first arrival
        String disorder = PersistentPhaseTimes.of(t, 3, 2).firstDisorder();
        assertNotNull(disorder);
        assertTrue(disorder.startsWith("layer 0 qkv block 0"), disorder);
    }

    @Test
    void resolutionIsTheSmallestPositiveStepAndSpanRunsFromFirstStartToLastRelease() {
        PersistentPhaseTimes times = PersistentPhaseTimes.of(synthetic(new long[] {1000, 3000, 2000}), 3, 2);
        assertEquals(10L, times.resolutionNs());
        long lastRelease = times.release(1, PHASES - 1, 2);
        assertEquals(lastRelease / 1e3, times.spanUs(), 1e-9);
    }

    @Test
    void aBufferOfTheWrongSizeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PersistentPhaseTimes.of(new long[10], 3, 2));
    }
}
