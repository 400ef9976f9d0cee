package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The staged persistent kernels' staging choice (PersistentStaging, no GPU): for the Qwen2-0.5B shape
 * on an H200 (132 SMs, 228 KB of shared memory per SM, 1 KB reserved per block, 528 static bytes in the
 * staged kernels, 2 blocks per SM: 264 blocks, k splits gate/up 2 and down 8 as CudaPersistentDecode picks
 * them) it stages every block's one down group and its first gate/up group; the regions never overlap
 * what they must not; with no room it stages nothing.
 */
class PersistentStagingTest {

    private static final int HIDDEN = 896;
    private static final int INTER = 4864;
    /** The attention phase's scratch for 14/2 heads of 64: CHUNK (d + 4) + CHUNK d + group d + WARPS CHUNK floats. */
    private static final int UNSTAGED = (64 * 68 + 64 * 64 + 7 * 64 + 8 * 64) * Float.BYTES;
    private static final int GRID = 264;

    /** Two blocks per SM of an H200: 233,472 bytes per SM, each block 1,024 reserved and 528 static. */
    private static final IntPredicate H200_TWO_PER_SM = bytes -> 2L * (bytes + 528 + 1024) <= 233_472;

    @Test
    void qwen2HalfBillionOnH200StagesOneGateUpAndOneDownGroupPerBlock() {
        PersistentStaging s = PersistentStaging.choose(HIDDEN, INTER, UNSTAGED, GRID, 2, 8, H200_TWO_PER_SM);
        assertEquals(1, s.gateUpGroups());
        assertEquals(1, s.downGroups());
        assertEquals(4864 * 4, s.downAt(), "D after act (inter floats, more than xs and gs)");
        assertEquals(4864 * 4 + 38_912, s.gateUpAt(), "GU after D, which reaches past the attention scratch");
        assertEquals(4864 * 4 + 38_912 + 28_672, s.sharedBytes());
        assertEquals(28_672, PersistentStaging.gateUpGroupBytes(HIDDEN, 2));
        assertEquals(38_912, PersistentStaging.downGroupBytes(INTER, 8));
        // Two gate/up groups and the down group miss two blocks per SM by 528 bytes.
        PersistentStaging more = PersistentStaging.layout(HIDDEN, INTER, UNSTAGED, 2, 1, 28_672, 38_912);
        assertTrue(!H200_TWO_PER_SM.test(more.sharedBytes()));
    }

    @Test
    void regionsKeepClearOfTheScratchTheyMustNotTouch() {
        for (int gu = 0; gu <= 3; gu++) {
            for (int down = 0; down <= 2; down++) {
                PersistentStaging s = PersistentStaging.layout(HIDDEN, INTER, UNSTAGED, gu, down, 28_672, 38_912);
                assertTrue(s.downAt() >= Math.max(2 * HIDDEN, INTER) * Float.BYTES, "D past xs, gs and act");
                assertTrue(s.gateUpAt() >= UNSTAGED, "GU past every phase's scratch");
                assertTrue(s.gateUpAt() >= s.downAt() + down * 38_912, "GU past D");
                assertEquals(0, s.gateUpAt() % 16);
                assertEquals(0, s.downAt() % 16);
                assertEquals(s.gateUpAt() + gu * 28_672, s.sharedBytes());
            }
        }
    }

    @Test
    void withoutRoomNothingIsStagedAndTheScratchIsUnchanged() {
        PersistentStaging s = PersistentStaging.choose(HIDDEN, INTER, UNSTAGED, GRID, 2, 8, bytes -> bytes <= UNSTAGED);
        assertEquals(0, s.gateUpGroups());
        assertEquals(0, s.downGroups());
        assertEquals(UNSTAGED, s.sharedBytes());
    }

    @Test
    void stagesNoMoreGroupsThanABlockComputes() {
        PersistentStaging s = PersistentStaging.choose(HIDDEN, INTER, UNSTAGED, GRID, 2, 8, bytes -> true);
        assertEquals(3, s.gateUpGroups(), "608 gate/up groups over 264 blocks: at most 3 per block");
        assertEquals(1, s.downGroups(), "224 down groups over 264 blocks: at most 1 per block");
    }

    @Test
    void prefersMoreStagedBytesOverMoreGroups() {
        // Room for two gate/up groups without D (57,344 bytes over 528 blocks' groups) or one of each
        // (28,672 over 264 plus 38,912 over 224): the second stages more bytes.
        IntPredicate room = bytes -> bytes <= UNSTAGED + 2 * 28_672;
        PersistentStaging s = PersistentStaging.choose(HIDDEN, INTER, UNSTAGED, GRID, 2, 8, room);
        assertEquals(1, s.gateUpGroups());
        assertEquals(1, s.downGroups());
    }
}
