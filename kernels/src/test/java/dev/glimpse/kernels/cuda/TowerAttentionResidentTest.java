package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The resident tower attention's choices: names, launch shapes and shared memory, and the property's parsing. */
class TowerAttentionResidentTest {

    @Test
    void eachChoiceNamesItsKernelAndBlock() {
        assertEquals("attention_mma_images_resident_bf16_d64_q5s2", TowerAttentionResident.KEY_SPLIT_2.kernel("bf16", 64));
        assertEquals("attention_mma_images_resident_bf16_d64_q5s2p2",
                TowerAttentionResident.KEY_SPLIT_2_AHEAD.kernel("bf16", 64));
        assertEquals("attention_mma_images_resident_bf16_d80_q6s2", TowerAttentionResident.KEY_SPLIT_2.kernel("bf16", 80));
        assertEquals("attention_mma_images_resident_f16_d80_q6s2p2",
                TowerAttentionResident.KEY_SPLIT_2_AHEAD.kernel("f16", 80));
        assertEquals(320, TowerAttentionResident.KEY_SPLIT_2.threads(64));
        assertEquals(320, TowerAttentionResident.KEY_SPLIT_2_AHEAD.threads(64));
        assertEquals(384, TowerAttentionResident.KEY_SPLIT_2_AHEAD.threads(80));
        assertEquals(80, TowerAttentionResident.queriesPerBlock(64));
        assertEquals(96, TowerAttentionResident.queriesPerBlock(80));
    }

    /** CLIP's padded dim 64 for every choice; SigLIP's 80 only up to 72 dims; off never. */
    @Test
    void eachChoiceTakesTheDimsItHasKernelsFor() {
        for (TowerAttentionResident r : TowerAttentionResident.values()) {
            boolean on = r != TowerAttentionResident.OFF;
            assertEquals(on, r.takes(64, 64));
            assertEquals(on, r.takes(64, 40));
            assertFalse(r.takes(128, 128));
            assertFalse(r.takes(80, 80));
        }
        assertTrue(TowerAttentionResident.KEY_SPLIT_2.takes(80, 72));
        assertTrue(TowerAttentionResident.KEY_SPLIT_2_AHEAD.takes(80, 65));
        assertFalse(TowerAttentionResident.KEY_SPLIT_2.takes(80, 73));
    }

    /**
     * The K and V tiles of every key tile (CLIP-L/336's 577 keys: 10 tiles of [64][72] 16-bit values each, 184,320
     * bytes, which an H200's 227 KB hold and an A100's 163 KB do not; SigLIP's 729: 12 tiles and 16 zeroed bytes),
     * or the merge's partials where those are more (one key tile: 18,432 bytes of tiles, 23,040 of the partials; at
     * dim 80, 33,792).
     */
    @Test
    void sharedMemoryHoldsEveryKeyTileOrTheMergesPartials() {
        assertEquals(184_320, TowerAttentionResident.KEY_SPLIT_2.sharedBytes(577, 64));
        assertEquals(184_320, TowerAttentionResident.KEY_SPLIT_2_AHEAD.sharedBytes(577, 64));
        assertEquals(221_200, TowerAttentionResident.KEY_SPLIT_2.sharedBytes(729, 80));
        assertEquals(23_040, TowerAttentionResident.KEY_SPLIT_2.sharedBytes(33, 64));
        assertEquals(33_792, TowerAttentionResident.KEY_SPLIT_2.sharedBytes(33, 80));
        assertEquals(221_184, TowerAttentionResident.KEY_SPLIT_2.sharedBytes(768, 64));
        assertTrue(TowerAttentionResident.KEY_SPLIT_2.sharedBytes(769, 64) > 232_448 - 4096);
    }

    @Test
    void blankIsOffAndNamesAreCaseInsensitive() {
        assertEquals(TowerAttentionResident.OFF, TowerAttentionResident.parse(null));
        assertEquals(TowerAttentionResident.OFF, TowerAttentionResident.parse(" "));
        assertEquals(TowerAttentionResident.KEY_SPLIT_2_AHEAD, TowerAttentionResident.parse(" S2P2 "));
    }

    @Test
    void anUnknownValueNamesThePropertyAndTheChoices() {
        CudaException e = assertThrows(CudaException.class, () -> TowerAttentionResident.parse("true"));
        assertTrue(e.getMessage().contains(TowerAttentionResident.PROPERTY)
                && e.getMessage().contains("off, s2, s2p2"), e.getMessage());
    }
}
