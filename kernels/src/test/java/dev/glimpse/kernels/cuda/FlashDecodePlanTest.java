package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FlashDecodePlanTest {

    private static final int H200_SMS = 132;
    private static final int DEFAULT_SHARED_BYTES = 48 * 1024;

    @ParameterizedTest(name = "capacity={0}")
    @CsvSource({"0", "1", "63", "256", "257", "4096", "8192", "100000", "1000000"})
    void aFullCacheSplitsIntoChunksThatFitTheScoreBuffer(int capacity) {
        for (int[] heads : new int[][] {{14, 2}, {32, 32}, {28, 4}, {16, 1}}) {
            FlashDecodePlan plan = FlashDecodePlan.of(heads[0], heads[1], capacity, H200_SMS);
            assertTrue((long) plan.splits() * FlashDecodePlan.MAX_CHUNK >= capacity,
                    plan + " for capacity " + capacity);
        }
    }

    @Test
    void aShortCacheUsesNoMoreSplitsThanChunksOfTheMinimumSize() {
        assertEquals(2, FlashDecodePlan.of(14, 2, 100, H200_SMS).splits());
        assertEquals(1, FlashDecodePlan.of(14, 2, 64, H200_SMS).splits());
    }

    @Test
    void aLongCacheFillsTheGpu() {
        FlashDecodePlan plan = FlashDecodePlan.of(32, 32, 8192, H200_SMS);
        assertTrue(32L * plan.headBlocks() * plan.splits() >= FlashDecodePlan.BLOCKS_PER_SM * H200_SMS, plan.toString());
    }

    @Test
    void largeQueryGroupsShareEachKvHeadOverSeveralBlocks() {
        FlashDecodePlan plan = FlashDecodePlan.of(12, 1, 2048, H200_SMS);
        assertEquals(2, plan.headBlocks());
        assertEquals(6, plan.headsPerBlock());
        assertEquals(1, FlashDecodePlan.of(14, 2, 2048, H200_SMS).headBlocks());
    }

    @Test
    void sharedMemoryStaysWithinTheDefaultLimitForEveryHeadDim() {
        for (int group = 1; group <= 16; group++) {
            FlashDecodePlan plan = FlashDecodePlan.of(group, 1, 8192, H200_SMS);
            for (int d = 1; d <= CudaAttention.MAX_HEAD_DIM; d++) {
                assertTrue(plan.sharedBytes(d, 1) <= DEFAULT_SHARED_BYTES, plan + " d=" + d);
                if (d % 4 == 0) {
                    assertTrue(plan.sharedBytes(d, 4) <= DEFAULT_SHARED_BYTES, plan + " d=" + d + " vec4");
                }
                if (d % 8 == 0 && d <= OnlineDecodePlan.MAX_HEAD_DIM) {
                    assertTrue(plan.sharedBytes(d, 8) <= DEFAULT_SHARED_BYTES, plan + " d=" + d + " vec8");
                }
            }
        }
    }
}
