package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Which tensor-core prefill kernel CudaAttention launches (no GPU needed). */
class CudaAttentionDispatchTest {

    private static final float SCALE = 0.125f;
    private static final AttentionMmaWarps.Block W4 = new AttentionMmaWarps.Block(4, 1);
    private static final AttentionMmaWarps.Block W8 = new AttentionMmaWarps.Block(8, 1);
    private static final AttentionMmaWarps.Block W4X2 = new AttentionMmaWarps.Block(4, 2);

    @Test
    void bf16PrecisionWithoutCaptureRunsThePackedBf16MmaKernelOfTheGivenWarps() {
        for (int d : new int[] {64, 80, 128}) {
            for (int warps : new int[] {4, 8}) {
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false, SCALE,
                        new AttentionMmaWarps.Block(warps, 1));
                assertEquals("attention_mma", k.module());
                assertEquals("attention_mma_packed_bf16_d" + d + "_w" + warps, k.name());
                assertEquals("attention_mma_pack_bf16_d" + d, k.packKernel());
                assertEquals(16 * warps, k.queriesPerBlock());
                assertEquals(32 * warps, k.threads());
            }
        }
    }

    @Test
    void f16PrecisionWithoutCaptureRunsThePackedF16MmaKernel() {
        CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, false, SCALE, W8);
        assertEquals("attention_mma_packed_f16_d80_w8", k.name());
        assertEquals("attention_mma_pack_f16_d80", k.packKernel());
    }

    @Test
    void f32PrecisionRunsThe3xTf32Kernel() {
        assertEquals("attention_forward_tc64", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, W8).name());
        assertEquals("attention_forward_tc128", CudaAttention.tensorCoreKernel(128, AttentionPrecision.F32, true, SCALE, W4).name());
        assertEquals("attention", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, W4X2).module());
        assertNull(CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, W8).packKernel());
    }

    /** Captured column sums read the pass's log-sum-exps, so they take the F32-exact kernel at any precision. */
    @Test
    void columnSumsRunThe3xTf32KernelAtHalfPrecision() {
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, true, SCALE, W4X2).name());
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, true, SCALE, W4).name());
    }

    /**
     * The 16-bit kernel folds the scale into its row max, which holds for a positive scale only: zero,
     * negative and NaN scales take the 3xTF32 kernel at both 16-bit precisions, with its own 64-query
     * blocks of 4 warps whatever warps were asked for.
     */
    @Test
    void nonPositiveScaleRunsThe3xTf32KernelAtHalfPrecision() {
        for (AttentionPrecision precision : new AttentionPrecision[] {AttentionPrecision.BF16, AttentionPrecision.F16}) {
            for (float scale : new float[] {0f, -0.0f, -SCALE, Float.NaN, Float.NEGATIVE_INFINITY}) {
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(128, precision, false, scale, W4X2);
                assertEquals("attention", k.module(), precision + " scale " + scale);
                assertEquals("attention_forward_tc128", k.name(), precision + " scale " + scale);
                assertNull(k.packKernel());
                assertEquals(64, k.queriesPerBlock());
                assertEquals(128, k.threads());
            }
        }
    }

    @Test
    void bf16PrecisionWithoutCaptureRunsTheTwoTileKernelFor128QueriesOf4Warps() {
        for (int d : new int[] {64, 80, 128}) {
            CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false, SCALE, W4X2);
            assertEquals("attention_mma", k.module());
            assertEquals("attention_mma_packed_bf16_d" + d + "_w4x2", k.name());
            assertEquals("attention_mma_pack_bf16_d" + d, k.packKernel());
            assertEquals(128, k.queriesPerBlock());
            assertEquals(128, k.threads());
        }
        assertEquals("attention_mma_packed_f16_d64_w4x2",
                CudaAttention.tensorCoreKernel(64, AttentionPrecision.F16, false, SCALE, W4X2).name());
    }

    @Test
    void packedKernelRunsOnlyItsBlockShapes() {
        for (AttentionMmaWarps.Block block : new AttentionMmaWarps.Block[] {new AttentionMmaWarps.Block(1, 1),
                new AttentionMmaWarps.Block(0, 1), new AttentionMmaWarps.Block(8, 2), new AttentionMmaWarps.Block(4, 3),
                new AttentionMmaWarps.Block(4, 1, 2), new AttentionMmaWarps.Block(2, 2, 2),
                new AttentionMmaWarps.Block(2, 1, 3), new AttentionMmaWarps.Block(4, 2, 2),
                new AttentionMmaWarps.Block(1, 1, 2), new AttentionMmaWarps.Block(2, 1, 4),
                new AttentionMmaWarps.Block(4, 1, 1, 1), new AttentionMmaWarps.Block(4, 1, 2, 1),
                new AttentionMmaWarps.Block(2, 1, 3, 1), new AttentionMmaWarps.Block(2, 2, 2, 1),
                new AttentionMmaWarps.Block(2, 1, 2, 3), new AttentionMmaWarps.Block(1, 1, 2, 1),
                new AttentionMmaWarps.Block(1, 1, 4, 1)}) {
            assertThrows(TensorException.class,
                    () -> CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, block), block::toString);
        }
    }

    /**
     * The small-grid shapes: {@code w2} 32 queries of 2 warps in two K and two V tiles; {@code w2s2} the
     * same 32 queries with 4 warps (2 per 16 rows) and two buffers of one K and one V tile per key-split
     * warp (72 KiB at DP=64: three blocks per H200 SM).
     */
    @Test
    void smallGridKernelsAreNamedForTheirQueryWarpsAndKeySplit() {
        CudaAttention.TensorCoreKernel w2 = CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, false, SCALE,
                AttentionSmallGrid.TWO_WARPS.block(W4, 729, 16, 64, false, 132));
        assertEquals("attention_mma_packed_bf16_d80_w2", w2.name());
        assertEquals(32, w2.queriesPerBlock());
        assertEquals(64, w2.threads());
        assertEquals(4 * 64 * 88 * 2, w2.sharedBytes());
        CudaAttention.TensorCoreKernel w2s2 = CudaAttention.tensorCoreKernel(64, AttentionPrecision.F16, false, SCALE,
                AttentionSmallGrid.KEY_SPLIT.block(W4, 577, 16, 64, false, 132));
        assertEquals("attention_mma_packed_f16_d64_w2s2", w2s2.name());
        assertEquals("attention_mma_pack_f16_d64", w2s2.packKernel());
        assertEquals(32, w2s2.queriesPerBlock());
        assertEquals(128, w2s2.threads());
        assertEquals(2 * 4 * 64 * 72 * 2, w2s2.sharedBytes());
    }

    /**
     * The single-round key-split shapes: 32 queries, 2 or 4 key-split warps per 16 rows, one buffer of one K and one
     * V tile per key-split warp (w2s2b1 at DP=80: 44 KiB, half of w2s2's 88 KiB).
     */
    @Test
    void singleRoundKeySplitKernelsHoldOneRoundOfKeyTiles() {
        record Expected(AttentionSmallGrid shape, String suffix, int threads, int keySplit) {
        }
        for (Expected e : new Expected[] {new Expected(AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND, "w2s2b1", 128, 2),
                new Expected(AttentionSmallGrid.FOUR_WAY_KEY_SPLIT, "w2s4b1", 256, 4)}) {
            for (int d : new int[] {64, 80, 128}) {
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false, SCALE,
                        e.shape().block(W4, 74, 32, d, false, 132));
                assertEquals("attention_mma_packed_bf16_d" + d + "_" + e.suffix(), k.name());
                assertEquals("attention_mma_pack_bf16_d" + d, k.packKernel());
                assertEquals(32, k.queriesPerBlock());
                assertEquals(e.threads(), k.threads());
                assertEquals(2 * e.keySplit() * 64 * (d + 8) * 2, k.sharedBytes());
            }
        }
        assertEquals(2 * 2 * 64 * 88 * 2, CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, false, SCALE,
                AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND.block(W4, 729, 16, 80, false, 132)).sharedBytes());
        assertEquals("prefill_rope_attention_f16_d128_w2s4b1", CudaAttention.ropeAttentionKernel(DType.F16, 128,
                AttentionSmallGrid.AUTO.block(W4, 74, 32, 128, true, 132)));
    }

    /**
     * The images-as-heads kernels exist for every double-buffered shape and, of the single-round ones, for what auto
     * takes in a bidirectional pass (w2s2b1 at padded dim 80); the fused rope-attention kernel for every 16-query-tile
     * shape but w2s2b1 (auto's choice at padded dim 80 only). Elsewhere the calls decline and the composition runs.
     */
    @Test
    void singleRoundShapesNoDispatchChoosesHaveNoImagesOrRopeAttentionKernel() {
        AttentionMmaWarps.Block w2s2b1 = AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND.block(W4, 577, 16, 64, false, 132);
        AttentionMmaWarps.Block w2s4b1 = AttentionSmallGrid.FOUR_WAY_KEY_SPLIT.block(W4, 577, 16, 64, false, 132);
        AttentionMmaWarps.Block w2s2 = AttentionSmallGrid.KEY_SPLIT.block(W4, 577, 16, 64, false, 132);
        assertTrue(CudaAttention.hasImagesKernel(w2s2b1, 80));
        assertFalse(CudaAttention.hasImagesKernel(w2s2b1, 64));
        assertFalse(CudaAttention.hasImagesKernel(w2s2b1, 128));
        for (int d : new int[] {64, 80, 128}) {
            assertFalse(CudaAttention.hasImagesKernel(w2s4b1, d));
            assertTrue(CudaAttention.hasImagesKernel(w2s2, d));
            assertTrue(CudaAttention.hasImagesKernel(W4, d));
        }
        assertEquals(AttentionSmallGrid.AUTO.block(W4, 729, 16, 80, false, 132), w2s2b1);
        assertFalse(CudaAttention.hasRopeAttentionKernel(w2s2b1));
        assertTrue(CudaAttention.hasRopeAttentionKernel(w2s4b1));
        assertTrue(CudaAttention.hasRopeAttentionKernel(w2s2));
        assertTrue(CudaAttention.hasRopeAttentionKernel(W4));
    }

    /** Off (the default) keeps every shape; a named small-grid shape replaces every w4 and nothing else. */
    @Test
    void smallGridShapesReplaceOnlyTheFourWarpBlock() {
        AttentionMmaWarps.Block w2s2 = new AttentionMmaWarps.Block(2, 1, 2);
        for (AttentionMmaWarps.Block chosen : new AttentionMmaWarps.Block[] {W4, W8, W4X2}) {
            assertEquals(chosen, AttentionSmallGrid.OFF.block(chosen, 577, 16, 64, false, 132));
        }
        assertEquals(w2s2, AttentionSmallGrid.KEY_SPLIT.block(W4, 586, 32, 64, false, 132));
        assertEquals(new AttentionMmaWarps.Block(2, 1), AttentionSmallGrid.TWO_WARPS.block(W4, 6296, 14, 64, false, 132));
        assertEquals(W8, AttentionSmallGrid.KEY_SPLIT.block(W8, 577, 16, 64, false, 132));
        assertEquals(W4X2, AttentionSmallGrid.TWO_WARPS.block(W4X2, 577, 16, 64, false, 132));
        assertEquals(W8, AttentionSmallGrid.AUTO.block(W8, 16, 1, 64, false, 132));
        assertEquals(new AttentionMmaWarps.Block(2, 1, 2, 1), AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND.block(W4, 6296, 14, 64, false, 132));
        assertEquals(new AttentionMmaWarps.Block(2, 1, 4, 1), AttentionSmallGrid.FOUR_WAY_KEY_SPLIT.block(W4, 74, 32, 128, false, 132));
        assertEquals(W8, AttentionSmallGrid.FOUR_WAY_KEY_SPLIT.block(W8, 577, 16, 64, false, 132));
        assertEquals(W4X2, AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND.block(W4X2, 577, 16, 64, false, 132));
        assertEquals(new AttentionMmaWarps.Block(2, 1, 2, 1), AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND.block(W4, 586, 32, 128, true, 132));
    }

    /**
     * Auto on a 132-SM H200: CLIP-L/336's single image (577 x 16: 160 blocks of w4) and SigLIP's (729 x
     * 16: 192) take the key-split shape; two CLIP images (320 blocks), LLaVA-7B's image prefill (586 x
     * 32: 320) keep w4; the boundary is 264 blocks (two per SM).
     */
    @Test
    void autoSmallGridTakesTheKeySplitShapeUnderTwoFourWarpBlocksPerSm() {
        AttentionMmaWarps.Block w2s2 = new AttentionMmaWarps.Block(2, 1, 2);
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 577, 16, 64, false, 132));
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 729, 16, 64, false, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 577, 32, 64, false, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 586, 32, 64, false, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 64 * 264, 1, 64, false, 132));
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 64 * 263, 1, 64, false, 132));
    }

    /**
     * Auto at padded head dim 80 (SigLIP: D 72) takes w2s2b1, which holds 3 blocks per H200 SM where w2s2's shared
     * memory holds 2; w2s2 at 64 and 128; large grids keep w4 at every dim.
     */
    @Test
    void autoSmallGridTakesTheSingleRoundKeySplitAtPaddedDim80() {
        AttentionMmaWarps.Block w2s2 = new AttentionMmaWarps.Block(2, 1, 2);
        AttentionMmaWarps.Block w2s2b1 = new AttentionMmaWarps.Block(2, 1, 2, 1);
        assertEquals(w2s2b1, AttentionSmallGrid.AUTO.block(W4, 729, 16, 80, false, 132));
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 729, 16, 64, false, 132));
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 74, 32, 128, false, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 729, 32, 80, false, 132));
        assertEquals(W8, AttentionSmallGrid.AUTO.block(W8, 729, 512, 80, false, 132));
    }

    /**
     * Auto on causal small grids (a decoder's short prefill: the fused RoPE + attention kernel and the kernels whose
     * bits it must keep giving) takes w2s4b1 where its 32-query blocks fit one per SM (Llama-7B at 74 rows: 96
     * blocks; at 128 rows: 128; Qwen2-0.5B at 74: 42, at 240: 112) for at most 256 queries, else keeps w4 (Llama-7B at
     * 129, 144 and 288 rows, Qwen2-0.5B at 288 rows, whose 126 w2s4b1 blocks would fit, and at 586); large grids keep
     * w4.
     */
    @Test
    void autoSmallGridTakesTheFourWayKeySplitForCausalGridsThatFitTheSms() {
        AttentionMmaWarps.Block w2s2 = new AttentionMmaWarps.Block(2, 1, 2);
        AttentionMmaWarps.Block w2s4b1 = new AttentionMmaWarps.Block(2, 1, 4, 1);
        assertEquals(w2s4b1, AttentionSmallGrid.AUTO.block(W4, 74, 32, 128, true, 132));
        assertEquals(w2s4b1, AttentionSmallGrid.AUTO.block(W4, 74, 14, 64, true, 132));
        assertEquals(w2s4b1, AttentionSmallGrid.AUTO.block(W4, 128, 32, 128, true, 132));
        assertEquals(w2s4b1, AttentionSmallGrid.AUTO.block(W4, 240, 14, 64, true, 132));
        assertEquals(w2s4b1, AttentionSmallGrid.AUTO.block(W4, 256, 14, 64, true, 132));
        assertEquals(w2s2, AttentionSmallGrid.AUTO.block(W4, 74, 32, 128, false, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 129, 32, 128, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 144, 32, 128, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 288, 32, 128, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 257, 14, 64, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 288, 14, 64, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 586, 14, 64, true, 132));
        assertEquals(W4, AttentionSmallGrid.AUTO.block(W4, 586, 32, 128, true, 132));
        assertEquals(W8, AttentionSmallGrid.AUTO.block(W8, 74, 32, 128, true, 132));
        assertEquals(W4, AttentionSmallGrid.OFF.block(W4, 74, 32, 128, true, 132));
        assertEquals(w2s2, AttentionSmallGrid.KEY_SPLIT.block(W4, 74, 32, 128, true, 132));
    }

    /** The fused RoPE + attention kernel's own property wins where set; unset or blank it follows the general one. */
    @Test
    void ropeAttentionSmallGridFollowsTheGeneralPropertyUnlessSet() {
        assertEquals(AttentionSmallGrid.TWO_WARPS, CudaTestSupport.withProperties(Map.of(AttentionSmallGrid.PROPERTY, "w2",
                AttentionSmallGrid.ROPE_ATTENTION_PROPERTY, " "), AttentionSmallGrid::configuredForRopeAttention));
        assertEquals(AttentionSmallGrid.FOUR_WAY_KEY_SPLIT, CudaTestSupport.withProperties(
                Map.of(AttentionSmallGrid.PROPERTY, "w2", AttentionSmallGrid.ROPE_ATTENTION_PROPERTY, "W2S4B1"),
                AttentionSmallGrid::configuredForRopeAttention));
        assertEquals(AttentionSmallGrid.TWO_WARPS, CudaTestSupport.withProperties(Map.of(AttentionSmallGrid.PROPERTY, "w2",
                AttentionSmallGrid.ROPE_ATTENTION_PROPERTY, "w2s4b1"), AttentionSmallGrid::configured));
        CudaException e = CudaTestSupport.withProperties(Map.of(AttentionSmallGrid.ROPE_ATTENTION_PROPERTY, "w3"),
                () -> assertThrows(CudaException.class, AttentionSmallGrid::configuredForRopeAttention));
        assertTrue(e.getMessage().contains(AttentionSmallGrid.ROPE_ATTENTION_PROPERTY), e.getMessage());
    }

    @Test
    void smallGridPropertyParsesItsNamesAndDefaultsToAuto() {
        assertEquals(AttentionSmallGrid.AUTO, AttentionSmallGrid.parse(null));
        assertEquals(AttentionSmallGrid.AUTO, AttentionSmallGrid.parse(" "));
        assertEquals(AttentionSmallGrid.AUTO, AttentionSmallGrid.parse("Auto"));
        assertEquals(AttentionSmallGrid.TWO_WARPS, AttentionSmallGrid.parse(" W2 "));
        assertEquals(AttentionSmallGrid.KEY_SPLIT, AttentionSmallGrid.parse("w2s2"));
        assertEquals(AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND, AttentionSmallGrid.parse("W2S2B1"));
        assertEquals(AttentionSmallGrid.FOUR_WAY_KEY_SPLIT, AttentionSmallGrid.parse("w2s4b1"));
        assertThrows(CudaException.class, () -> AttentionSmallGrid.parse("w1s2b1"));
        CudaException e = assertThrows(CudaException.class, () -> AttentionSmallGrid.parse("w4s2"));
        assertTrue(e.getMessage().contains(AttentionSmallGrid.PROPERTY) && e.getMessage().contains("w2s2"), e.getMessage());
    }

    /** The 16-row kernels: two K and two V tiles of 64 padded 16-bit rows (68 KiB at DP=128), whatever the warps. */
    @Test
    void packedMmaKernelSharedMemoryHoldsTwoBuffersOfKAndV() {
        assertEquals(4 * 64 * 72 * 2, CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, W8).sharedBytes());
        assertEquals(4 * 64 * 136 * 2, CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false, SCALE, W4).sharedBytes());
    }

    /**
     * The two-tile kernel holds the queries in registers at DP=64 (they borrow the K tiles while
     * loading) and in a [128][DP + 8] tile after the K and V tiles at DP=80 and 128 (102 KiB at 128,
     * so two blocks still fit an H100/H200 SM's 228 KiB).
     */
    @Test
    void twoTileKernelSharedMemoryAddsAQueryTilePastDim64() {
        assertEquals(4 * 64 * 72 * 2, CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, W4X2).sharedBytes());
        assertEquals((4 * 64 + 128) * 88 * 2,
                CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, false, SCALE, W4X2).sharedBytes());
        assertEquals((4 * 64 + 128) * 136 * 2,
                CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false, SCALE, W4X2).sharedBytes());
    }

    /**
     * On a 132-SM H200: Qwen2's video prefill (6296 x 14, 700 blocks of 128, head dim 64) gets the
     * two-tile kernel; OneVision's SigLIP (729 queries x 512 heads, 3072 blocks, head dim 72 padded
     * to 80) gets 8 warps, as the two-tile kernel measured slower past 64; LLaVA-7B's image prefill
     * (586 x 32, 160 blocks, fewer than two per SM) keeps 4 warps of 16 queries so that the grid
     * still fills the GPU.
     */
    @Test
    void autoTakesTheTwoTileKernelOnlyForNarrowHeadsOnGridsThatFillTheGpuTwice() {
        assertEquals(W8, AttentionMmaWarps.AUTO.block(729, 512, 80, 132));
        assertEquals(W4X2, AttentionMmaWarps.AUTO.block(6296, 14, 64, 132));
        assertEquals(W8, AttentionMmaWarps.AUTO.block(6296, 14, 128, 132));
        assertEquals(W4, AttentionMmaWarps.AUTO.block(586, 32, 128, 132));
        assertEquals(W4X2, AttentionMmaWarps.AUTO.block(256 * 66, 2, 64, 132));
        assertEquals(W4, AttentionMmaWarps.AUTO.block(256 * 66 - 128, 2, 64, 132));
    }

    /** auto16 is the choice before the two-tile kernel: 8 warps where auto now takes w4x2, else 4. */
    @Test
    void auto16KeepsTheSixteenRowKernels() {
        assertEquals(W8, AttentionMmaWarps.AUTO16.block(729, 512, 64, 132));
        assertEquals(W8, AttentionMmaWarps.AUTO16.block(6296, 14, 64, 132));
        assertEquals(W4, AttentionMmaWarps.AUTO16.block(586, 32, 64, 132));
        assertEquals(W4, AttentionMmaWarps.AUTO16.block(256 * 66 - 128, 2, 64, 132));
    }

    @Test
    void forcedShapesIgnoreTheCall() {
        assertEquals(W4, AttentionMmaWarps.FOUR.block(729, 512, 80, 132));
        assertEquals(W8, AttentionMmaWarps.EIGHT.block(16, 1, 64, 132));
        assertEquals(W4X2, AttentionMmaWarps.FOUR_BY_TWO.block(16, 1, 128, 132));
    }

    @Test
    void blockShapesNameTheirKernelsQueriesAndThreads() {
        assertEquals("w4", W4.suffix());
        assertEquals("w8", W8.suffix());
        assertEquals("w4x2", W4X2.suffix());
        assertEquals("w2s2", new AttentionMmaWarps.Block(2, 1, 2).suffix());
        assertEquals("w2s4b1", new AttentionMmaWarps.Block(2, 1, 4, 1).suffix());
        assertEquals(64, W4.queries());
        assertEquals(128, W8.queries());
        assertEquals(128, W4X2.queries());
        assertEquals(128, W4X2.threads());
    }

    /** The names parse case-insensitively; the removed kernel names (v1, v2, v2w4) are rejected, naming the known ones. */
    @Test
    void shapeNamesParseCaseInsensitivelyAndDefaultToAuto() {
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse(null));
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse(" "));
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse("Auto"));
        assertEquals(AttentionMmaWarps.AUTO16, AttentionMmaWarps.parse("AUTO16"));
        assertEquals(AttentionMmaWarps.FOUR, AttentionMmaWarps.parse("W4"));
        assertEquals(AttentionMmaWarps.EIGHT, AttentionMmaWarps.parse(" w8 "));
        assertEquals(AttentionMmaWarps.FOUR_BY_TWO, AttentionMmaWarps.parse("W4x2"));
        for (String removed : new String[] {"v1", "v2", "v2w4"}) {
            CudaException e = assertThrows(CudaException.class, () -> AttentionMmaWarps.parse(removed));
            assertTrue(e.getMessage().contains(AttentionMmaWarps.PROPERTY)
                    && e.getMessage().contains("auto, auto16, w4, w8, w4x2"), e.getMessage());
        }
    }

    /**
     * Every kernel the dispatch can name is defined in its module's source (as the first argument of
     * a defining macro). The committed fatbins are compressed (build-kernels.sh), so the names cannot
     * be looked up in them; their freshness is the GPU tests' to show.
     */
    @Test
    void everyTensorCoreKernelIsDefinedInItsModuleSource() throws IOException {
        // Maven runs tests in the module folder; the GPU machine's script runs them from the repository root.
        Path sources = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda") : Path.of("kernels/src/main/cuda");
        assumeTrue(Files.isDirectory(sources), "the kernel sources are not on this machine");
        for (int d : new int[] {16, 64, 72, 80, 128}) {
            int padded = CudaAttention.tensorCoreDim(64, d);
            for (AttentionPrecision precision : AttentionPrecision.values()) {
                for (boolean captured : new boolean[] {false, true}) {
                    for (AttentionMmaWarps.Block block : new AttentionMmaWarps.Block[] {W4, W8, W4X2}) {
                        CudaAttention.TensorCoreKernel kernel =
                                CudaAttention.tensorCoreKernel(padded, precision, captured, SCALE, block);
                        String source = Files.readString(sources.resolve(kernel.module() + ".cu"));
                        for (String name : new String[] {kernel.name(), kernel.packKernel()}) {
                            if (name != null) {
                                assertTrue(source.contains("(" + name + ","),
                                        name + " is not defined in " + kernel.module() + ".cu");
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Every fused RoPE + append + attention kernel {@link CudaAttention#ropeAppendAttention} can launch (BF16 and
     * F16, D 64 and 128, the 16-query block shapes w2, w4, w8, w2s2) is stamped out in its module's source: the
     * generic name in a {@code PREFILL_ROPE_ATTENTION} line and the type in a {@code PREFILL_ROPE_ATTENTION_SHAPES} line.
     */
    @Test
    void everyFusedRopeAttentionKernelIsDefinedInItsModuleSource() throws IOException {
        Path sources = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda") : Path.of("kernels/src/main/cuda");
        assumeTrue(Files.isDirectory(sources), "the kernel sources are not on this machine");
        String source = Files.readString(sources.resolve(CudaAttention.ROPE_ATTENTION_MODULE + ".cu"));
        AttentionMmaWarps.Block[] blocks = {new AttentionMmaWarps.Block(2, 1), W4, W8, new AttentionMmaWarps.Block(2, 1, 2)};
        for (DType type : new DType[] {DType.BF16, DType.F16}) {
            String tn = type == DType.BF16 ? "bf16" : "f16";
            String cudaType = type == DType.BF16 ? "__nv_bfloat16" : "__half";
            assertTrue(source.contains("PREFILL_ROPE_ATTENTION_SHAPES(" + cudaType + ", " + tn + ")"), tn + " is stamped out");
            for (int d : new int[] {64, 128}) {
                for (AttentionMmaWarps.Block block : blocks) {
                    String name = CudaAttention.ropeAttentionKernel(type, d, block);
                    String generic = name.replace("_" + tn + "_", "_##TN##_");
                    assertTrue(source.contains("PREFILL_ROPE_ATTENTION(" + generic + ","),
                            name + " is not defined in " + CudaAttention.ROPE_ATTENTION_MODULE + ".cu");
                }
            }
        }
    }

    @Test
    void fusedRopeAttentionIsOnAndTakesAtMost128RowsUnlessTold() {
        assumeTrue(System.getProperty(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY) == null
                && System.getProperty(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY) == null, "the defaults are unset");
        assertTrue(CudaBackend.prefillRopeAttentionEnabled(), "on by default");
        assertFalse(CudaTestSupport.withProperties(Map.of(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY, "false"),
                CudaBackend::prefillRopeAttentionEnabled));
        assertEquals(128, CudaBackend.prefillRopeAttentionMaxRows());
        assertTrue(CudaTestSupport.withProperties(Map.of(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY, " TRUE "),
                CudaBackend::prefillRopeAttentionEnabled));
        assertEquals(586, CudaTestSupport.withProperties(Map.of(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, "586"),
                CudaBackend::prefillRopeAttentionMaxRows));
        for (String bad : new String[] {"0", "-3", "many"}) {
            CudaException e = assertThrows(CudaException.class, () -> CudaTestSupport.withProperties(
                    Map.of(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, bad), CudaBackend::prefillRopeAttentionMaxRows));
            assertTrue(e.getMessage().contains(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY), e.getMessage());
        }
    }

    @Test
    void a16BitCacheViewOfTheKernelsTypeIsReadInPlaceWithItsCapacityAsHeadRows() {
        try (Tensor keys = Tensor.allocate(DType.BF16, 2, 100, 64); Tensor values = Tensor.allocate(DType.BF16, 2, 100, 64)) {
            Tensor k = keys.slice(1, 0, 40).transpose(0, 1);
            Tensor v = values.slice(1, 0, 40).transpose(0, 1);
            assertEquals(100, CudaAttention.cacheRowsInPlace(k, v, DType.BF16, 64));
            assertEquals(0, CudaAttention.cacheRowsInPlace(k, v, DType.F16, 64), "another 16-bit type is packed");
            assertEquals(0, CudaAttention.cacheRowsInPlace(k, v, DType.BF16, 80), "a padded head dim is packed");
        }
    }

    @Test
    void f32OrTokenMajorKeysArePacked() {
        try (Tensor f32 = Tensor.allocate(DType.F32, 2, 100, 64); Tensor packed = Tensor.allocate(DType.BF16, 40, 2, 64);
             Tensor d80 = Tensor.allocate(DType.BF16, 2, 100, 80)) {
            Tensor view = f32.slice(1, 0, 40).transpose(0, 1);
            assertEquals(0, CudaAttention.cacheRowsInPlace(view, view, DType.BF16, 64));
            assertEquals(0, CudaAttention.cacheRowsInPlace(packed, packed, DType.BF16, 64));
            Tensor v80 = d80.slice(1, 0, 40).transpose(0, 1);
            assertEquals(0, CudaAttention.cacheRowsInPlace(v80, v80, DType.BF16, 80), "no in-place kernel for D 80");
        }
    }

    @Test
    void theInPlacePropertyFalseAlwaysPacks() {
        String old = System.getProperty(CudaAttention.IN_PLACE_PROPERTY);
        System.setProperty(CudaAttention.IN_PLACE_PROPERTY, "false");
        try (Tensor keys = Tensor.allocate(DType.F16, 2, 100, 128)) {
            Tensor k = keys.slice(1, 0, 40).transpose(0, 1);
            assertEquals(0, CudaAttention.cacheRowsInPlace(k, k, DType.F16, 128));
        } finally {
            if (old == null) {
                System.clearProperty(CudaAttention.IN_PLACE_PROPERTY);
            } else {
                System.setProperty(CudaAttention.IN_PLACE_PROPERTY, old);
            }
        }
    }
}
