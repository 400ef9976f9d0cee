package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cuBLASLt plan key: what makes two calls share a plan and its measured algorithm. CPU-only. */
class LtProblemTest {

    private static final long BASE = 0x7f00_0000_0000L;

    @Test
    void alignmentIsTheLargestPowerOfTwoUpTo256() {
        assertEquals(256, LtProblem.alignment(0));
        assertEquals(256, LtProblem.alignment(BASE));
        assertEquals(256, LtProblem.alignment(BASE + 512));
        assertEquals(16, LtProblem.alignment(BASE + 16));
        assertEquals(2, LtProblem.alignment(BASE + 2));
    }

    @Test
    void equalCallsGiveEqualKeys() {
        LtProblem a = LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, BASE, BASE + 256, BASE + 512, 0);
        LtProblem b = LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, BASE + 1024, BASE, BASE, 0);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
    }

    @Test
    void anAlgorithmFitsOnlyOperandsAtLeastAsAlignedAsItNeedsEach() {
        // W 256-aligned, x 2-aligned (a row slice of odd width), out 16-aligned
        LtProblem p = LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, BASE, BASE + 2, BASE + 16, 0);
        assertTrue(p.fitsAlignments(256, 2, 16, 16));
        assertTrue(p.fitsAlignments(16, 2, 4, 8));
        assertFalse(p.fitsAlignments(16, 16, 16, 16), "x is only 2-byte aligned");
        assertFalse(p.fitsAlignments(16, 2, 16, 32), "D is out, 16-byte aligned");
        assertFalse(p.fitsAlignments(16, 2, 32, 16), "C is out as well");
        assertFalse(p.fitsAlignments(-1, 2, 16, 16), "an unreadable requirement fits nothing");
    }

    @Test
    void rowsBiasAccumulationAndBatchEachMakeAnotherPlan() {
        LtProblem base = LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, BASE, BASE, BASE, 0);
        assertNotEquals(base, LtProblem.of(75, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, BASE, BASE, BASE, 0));
        assertNotEquals(base, LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, true, false, BASE, BASE, BASE, 0));
        assertNotEquals(base, LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, true, BASE, BASE, BASE, BASE));
        assertNotEquals(base, LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 3, 4096L * 4096, 586L * 4096, 0, false, false,
                BASE, BASE, BASE, 0));
        assertNotEquals(base, LtProblem.of(74, 4096, 4096, DType.F16, 4096, 1, 0, 0, 0, false, false, BASE, BASE, BASE, 0));
    }

    @Test
    void batchStridesBoundTheAlignmentsOfTheLaterMatrices() {
        // Qwen2-0.5B k/v: 128 x 896 BF16 weights (229,376 bytes apart), outputs 6296 x 128 F32 apart
        LtProblem kv = LtProblem.of(6296, 128, 896, DType.BF16, 896, 2, 128L * 896, 6296L * 128, 128, true, false,
                BASE, BASE, BASE, 0);
        assertEquals(256, kv.alignW());
        assertEquals(256, kv.alignOut());
        // odd strides: every batch member is only as aligned as its stride allows
        LtProblem odd = LtProblem.of(9, 72, 72, DType.BF16, 72, 2, 72L * 72 + 4, 9L * 72 + 2, 0, false, false,
                BASE, BASE, BASE, 0);
        assertEquals(8, odd.alignW());
        assertEquals(8, odd.alignOut());
    }

    @Test
    void aResidualLessAlignedThanOutLowersTheOutputAlignment() {
        LtProblem p = LtProblem.of(586, 4096, 11008, DType.BF16, 11008, 1, 0, 0, 0, false, true, BASE, BASE, BASE, BASE + 16);
        assertEquals(16, p.alignOut());
    }

    @Test
    void theGeluEpilogueAndItsOutputTypeAreSeparateProblems() {
        LtProblem plain = LtProblem.of(729, 4304, 1152, DType.BF16, 1152, 1, 0, 0, 0, true, false, BASE, BASE, BASE, 0);
        LtProblem gelu = LtProblem.of(729, 4304, 1152, DType.BF16, 1152, 1, 0, 0, 0, true, false, BASE, BASE, BASE, 0,
                new LtProblem.Output(true, DType.F32, DType.F32));
        LtProblem geluHalf = LtProblem.of(729, 4304, 1152, DType.BF16, 1152, 1, 0, 0, 0, true, false, BASE, BASE, BASE, 0,
                new LtProblem.Output(true, DType.BF16, DType.BF16));
        assertNotEquals(plain, gelu);
        assertNotEquals(gelu, geluHalf);
        assertEquals(LtProblem.Output.F32, plain.output());
    }

    @Test
    void aSingleProductHasNoBatchStrides() {
        assertThrows(IllegalArgumentException.class,
                () -> new LtProblem(9, 8, 8, DType.BF16, 8, 1, 64, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32));
        assertThrows(IllegalArgumentException.class,
                () -> new LtProblem(9, 8, 8, DType.BF16, 8, 0, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32));
    }

    @Test
    void splitKIsOfferedToSkinnyDeepProductsOnly() {
        assertTrue(problem(74, 4096).offersSplitK());
        assertTrue(problem(128, 11008).offersSplitK());
        assertFalse(problem(129, 4096).offersSplitK());
        assertFalse(problem(586, 4096).offersSplitK());
        assertFalse(problem(74, 896).offersSplitK());
    }

    @Test
    void rowBucketsArePowersOfTwoAtOrAboveTheRows() {
        assertEquals(1, LtProblem.rowBucket(1));
        assertEquals(16, LtProblem.rowBucket(9));
        assertEquals(16, LtProblem.rowBucket(16));
        assertEquals(128, LtProblem.rowBucket(74));
        assertEquals(128, LtProblem.rowBucket(128));
        assertEquals(256, LtProblem.rowBucket(129));
        assertEquals(1024, LtProblem.rowBucket(586));
        assertEquals(8192, LtProblem.rowBucket(6296));
    }

    @Test
    void rowCountsOfOneBucketShareTheBucketedKeyOnly() {
        LtProblem a = problem(74, 4096);
        LtProblem b = problem(100, 4096);
        assertNotEquals(a, b);
        assertEquals(a.bucketed(), b.bucketed());
        assertEquals(128, a.bucketed().m());
        assertNotEquals(a.bucketed(), problem(129, 4096).bucketed());
    }

    @Test
    void stackedOutputsInScratchOfAnySessionCapacityShareTheBucketedKey() {
        // LLaVA-1.5-7B's 586-row q/k/v product writes [3, capacity, 4096] scratch: the bench's
        // sessions hold 586 + 12, 586 + 72 and (its timeline) 586 + 11 tokens
        LtProblem warmUp = qkv(586, 598);
        LtProblem measured = qkv(586, 658);
        LtProblem timeline = qkv(586, 597);
        assertNotEquals(warmUp, measured, "each exact problem keeps its own plan (its layouts hold the stride)");
        assertEquals(warmUp.bucketed(), measured.bucketed());
        assertEquals(warmUp.bucketed().cacheKey(), timeline.bucketed().cacheKey());
        assertEquals(1024L * 4096, measured.bucketed().strideOut(), "the bucket's rows, packed");
        assertEquals(qkv(600, 1000).bucketed(), qkv(586, 658).bucketed(), "another row count of the bucket too");
    }

    @Test
    void theBucketedKeyKeepsTheOutputStridesAlignment() {
        // outputs 9 x 72 F32 apart plus 2 elements: every batch member after the first only 8-byte aligned
        LtProblem packed = LtProblem.of(9, 72, 72, DType.BF16, 72, 2, 72L * 72, 9L * 72, 0, false, false,
                BASE, BASE, BASE, 0);
        LtProblem odd = LtProblem.of(9, 72, 72, DType.BF16, 72, 2, 72L * 72, 9L * 72 + 2, 0, false, false,
                BASE, BASE, BASE, 0);
        assertNotEquals(packed.bucketed(), odd.bucketed());
        assertEquals(8, odd.bucketed().alignOut());
    }

    @Test
    void outputStridesAlignedBeyondSixteenBytesShareTheBucketedKey() {
        // a small decoder's gate/up [2, capacity, 32] F32 scratch: stride capacity x 128 bytes, 128- or 256-aligned
        LtProblem odd = LtProblem.of(20, 32, 64, DType.BF16, 64, 2, 32L * 64, 33L * 32, 0, false, false, BASE, BASE, BASE, 0);
        LtProblem even = LtProblem.of(20, 32, 64, DType.BF16, 64, 2, 32L * 64, 34L * 32, 0, false, false, BASE, BASE, BASE, 0);
        assertEquals(128, odd.alignOut());
        assertEquals(256, even.alignOut());
        assertEquals(odd.bucketed().cacheKey(), even.bucketed().cacheKey());
        assertEquals(LtProblem.KEY_ALIGNMENT, even.bucketed().alignOut());
    }

    @Test
    void aSingleProductsBucketedKeyHasNoBatchStrides() {
        assertEquals(0, problem(74, 4096).bucketed().strideOut());
    }

    @Test
    void minimumBytesCountWeightsInputAndOutput() {
        LtProblem qkv = LtProblem.of(74, 4096, 4096, DType.BF16, 4096, 3, 4096L * 4096, 586L * 4096, 0, false, false,
                BASE, BASE, BASE, 0);
        assertEquals(3L * 4096 * 4096 * 2 + 74L * 4096 * 2 + 3L * 74 * 4096 * 4, qkv.minimumBytes());
    }

    @Test
    void theCacheKeyTellsEveryComponentApart() {
        LtProblem.Output gelu = new LtProblem.Output(true, DType.F32, DType.F32);
        List<LtProblem> variants = List.of(
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(256, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4095, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4095, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.F16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 8192, 1, 0, 0, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 2, 1, 1, 0, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 2, 1, 1, 1, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 2, 11, 1, 1, false, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, true, false, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, true, 256, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 16, 256, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 16, 256, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 16, LtProblem.Output.F32),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256, gelu),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256,
                        new LtProblem.Output(true, DType.BF16, DType.F32)),
                new LtProblem(128, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256,
                        new LtProblem.Output(true, DType.BF16, DType.BF16)));
        Set<String> keys = new HashSet<>();
        variants.forEach(p -> keys.add(p.cacheKey()));
        assertEquals(variants.size(), keys.size(), "one key per problem: " + keys);
        assertEquals(problem(74, 4096).bucketed().cacheKey(), problem(100, 4096).bucketed().cacheKey());
        assertEquals("128x4096x4096 BF16 ldw 4096 batch 1 strides 0/0/0 out F32 bias F32 align 16/16/16",
                problem(74, 4096).bucketed().cacheKey(), "the stored files' keys change only on purpose");
    }

    /** LLaVA-1.5-7B's q/k/v product of m rows into a session's [3, capacity, 4096] scratch. */
    private static LtProblem qkv(int m, int capacity) {
        return LtProblem.of(m, 4096, 4096, DType.BF16, 4096, 3, 4096L * 4096, (long) capacity * 4096, 0, false, false,
                BASE, BASE, BASE, 0);
    }

    private static LtProblem problem(int m, int k) {
        return LtProblem.of(m, 4096, k, DType.BF16, k, 1, 0, 0, 0, false, false, BASE, BASE, BASE, 0);
    }
}
