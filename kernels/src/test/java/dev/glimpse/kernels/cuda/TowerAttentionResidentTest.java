package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The resident tower attention's choices: where each runs, kernels, launch shapes, shared memory, parsing. */
class TowerAttentionResidentTest {

    private static final int H200_SMS = 132;

    @Test
    void eachDimHasItsKernelAndBlock() {
        assertEquals("attention_mma_images_resident_bf16_d64_q5s2", TowerAttentionResident.kernel("bf16", 64));
        assertEquals("attention_mma_images_resident_f16_d80_q6s2", TowerAttentionResident.kernel("f16", 80));
        assertEquals(320, TowerAttentionResident.threads(64));
        assertEquals(384, TowerAttentionResident.threads(80));
        assertEquals(80, TowerAttentionResident.queriesPerBlock(64));
        assertEquals(96, TowerAttentionResident.queriesPerBlock(80));
    }

    /** s2 runs at CLIP's padded dim 64 and at SigLIP's 80 up to 72 dims, whatever the grid; off never. */
    @Test
    void s2RunsWhereItHasAKernel() {
        TowerAttentionResident s2 = TowerAttentionResident.KEY_SPLIT_2;
        assertTrue(s2.runs(64, 64, 577, 16, H200_SMS));
        assertTrue(s2.runs(64, 40, 577, 32, H200_SMS));
        assertTrue(s2.runs(80, 72, 729, 16, H200_SMS));
        assertTrue(s2.runs(80, 72, 729, 512, H200_SMS));
        assertFalse(s2.runs(80, 80, 729, 16, H200_SMS));
        assertFalse(s2.runs(80, 73, 729, 16, H200_SMS));
        assertFalse(s2.runs(128, 128, 130, 16, H200_SMS));
        assertFalse(TowerAttentionResident.OFF.runs(64, 64, 577, 16, H200_SMS));
    }

    /**
     * auto runs where s2 does and the grid is at most one wave: one CLIP-L/336 or SigLIP so400m image (8 blocks per
     * head x 16 heads = 128 on 132 SMs; H200, 2026-11-29: 0.870x and 0.743x of today's time), not two CLIP images (256)
     * nor 32 SigLIP frames (4,096 blocks: 1.20x slower).
     */
    @Test
    void autoRunsWhereItsGridIsAtMostOneWave() {
        TowerAttentionResident auto = TowerAttentionResident.AUTO;
        assertEquals(128, TowerAttentionResident.blocks(64, 577, 16));
        assertEquals(128, TowerAttentionResident.blocks(80, 729, 16));
        assertTrue(auto.runs(64, 64, 577, 16, H200_SMS));
        assertTrue(auto.runs(80, 72, 729, 16, H200_SMS));
        assertFalse(auto.runs(64, 64, 577, 32, H200_SMS));
        assertFalse(auto.runs(80, 72, 729, 512, H200_SMS));
        assertFalse(auto.runs(64, 64, 577, 16, 127));
        assertTrue(auto.runs(64, 64, 17, 6, H200_SMS));
        assertFalse(auto.runs(80, 80, 729, 16, H200_SMS));
    }

    /**
     * auto steps aside when a tiled shape is forced (the shard-1 kernels tests on the H200 compare forced shapes with
     * their composition bit for bit, 2026-11-29); s2 and off do not look.
     */
    @Test
    void autoStepsAsideForAForcedTiledShape() {
        assertFalse(yields(TowerAttentionResident.AUTO, "", ""));
        assertTrue(yields(TowerAttentionResident.AUTO, "w8", ""));
        assertFalse(yields(TowerAttentionResident.KEY_SPLIT_2, "w8", ""));
        assertFalse(yields(TowerAttentionResident.OFF, "w8", ""));
        assertTrue(yields(TowerAttentionResident.AUTO, "auto", "w2"));
        assertTrue(yields(TowerAttentionResident.AUTO, "auto", "off"));
    }

    /** {@code choice}.yieldsToForcedShape() under the two shape properties (blank: auto). */
    private static boolean yields(TowerAttentionResident choice, String mma, String smallGrid) {
        Map<String, String> shapes = Map.of(AttentionMmaWarps.PROPERTY, mma, AttentionSmallGrid.PROPERTY, smallGrid);
        return CudaTestSupport.withProperties(shapes, choice::yieldsToForcedShape);
    }

    /**
     * The K and V tiles of every key tile (CLIP-L/336's 577 keys: 10 tiles of [64][72] 16-bit values each, 184,320
     * bytes, which an H200's 227 KB hold and an A100's 163 KB do not; SigLIP's 729: 12 tiles and 16 zeroed bytes),
     * or the merge's partials where those are more (one key tile: 18,432 bytes of tiles, 23,040 of the partials; at
     * dim 80, 33,792).
     */
    @Test
    void sharedMemoryHoldsEveryKeyTileOrTheMergesPartials() {
        assertEquals(184_320, TowerAttentionResident.sharedBytes(577, 64));
        assertEquals(221_200, TowerAttentionResident.sharedBytes(729, 80));
        assertEquals(23_040, TowerAttentionResident.sharedBytes(33, 64));
        assertEquals(33_792, TowerAttentionResident.sharedBytes(33, 80));
        assertEquals(221_184, TowerAttentionResident.sharedBytes(768, 64));
        assertTrue(TowerAttentionResident.sharedBytes(769, 64) > 232_448 - 4096);
    }

    @Test
    void blankIsAutoAndNamesAreCaseInsensitive() {
        assertEquals(TowerAttentionResident.AUTO, TowerAttentionResident.parse(null));
        assertEquals(TowerAttentionResident.AUTO, TowerAttentionResident.parse(" "));
        assertEquals(TowerAttentionResident.OFF, TowerAttentionResident.parse("off"));
        assertEquals(TowerAttentionResident.AUTO, TowerAttentionResident.parse(" Auto "));
        assertEquals(TowerAttentionResident.KEY_SPLIT_2, TowerAttentionResident.parse("S2"));
    }

    @Test
    void anUnknownValueNamesThePropertyAndTheChoices() {
        CudaException e = assertThrows(CudaException.class, () -> TowerAttentionResident.parse("s2p2"));
        assertTrue(e.getMessage().contains(TowerAttentionResident.PROPERTY)
                && e.getMessage().contains("off, auto, s2"), e.getMessage());
    }
}
