package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.global.cublas;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configurations the wide cuBLASLt search builds from algorithm capabilities. CPU-only. */
class LtSearchSpaceTest {

    private static final int COMPUTE = cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    private static final int OUTPUT = cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE;
    private static final int INPLACE = cublas.CUBLASLT_REDUCTION_SCHEME_INPLACE;

    @Test
    void coarsePointsSpanTilesStagesAndEverySplitWithTheComputeTypeReduction() {
        LtSearchSpace.Caps caps = new LtSearchSpace.Caps(66, List.of(15, 20), List.of(3, 8, 9), true,
                INPLACE | COMPUTE | OUTPUT, true, 2);
        List<LtSearchSpace.Point> points = LtSearchSpace.coarse(List.of(caps));
        assertEquals(2 * 3 * LtSearchSpace.SPLIT_K.size(), points.size());
        assertEquals(new LtSearchSpace.Point(66, 15, 3, 1, 0, 0, 0, 0), points.get(0));
        assertEquals(new LtSearchSpace.Point(66, 15, 3, 2, COMPUTE, 0, 0, 0), points.get(1));
        assertEquals(new LtSearchSpace.Point(66, 20, 9, 8, COMPUTE, 0, 0, 0), points.get(points.size() - 1));
        assertTrue(points.stream().allMatch(p -> p.swizzle() == 0 && p.custom() == 0
                && p.cluster() == cublas.CUBLASLT_CLUSTER_SHAPE_AUTO));
    }

    @Test
    void splitKIsOfferedOnlyWithSupportAndAnOutOfPlaceScheme() {
        LtSearchSpace.Caps noSplit = new LtSearchSpace.Caps(1, List.of(15), List.of(3), false, COMPUTE, false, 0);
        LtSearchSpace.Caps inPlaceOnly = new LtSearchSpace.Caps(2, List.of(15), List.of(3), true, INPLACE, false, 0);
        LtSearchSpace.Caps outputType = new LtSearchSpace.Caps(3, List.of(15), List.of(3), true, INPLACE | OUTPUT, false, 0);
        assertEquals(List.of(1), LtSearchSpace.coarse(List.of(noSplit)).stream().map(LtSearchSpace.Point::splitK).toList());
        assertEquals(List.of(1), LtSearchSpace.coarse(List.of(inPlaceOnly)).stream().map(LtSearchSpace.Point::splitK).toList());
        List<LtSearchSpace.Point> out = LtSearchSpace.coarse(List.of(outputType));
        assertEquals(LtSearchSpace.SPLIT_K, out.stream().map(LtSearchSpace.Point::splitK).toList());
        assertTrue(out.stream().skip(1).allMatch(p -> p.reduction() == OUTPUT), "in place is never offered");
    }

    @Test
    void anAlgorithmWithoutTileOrStageIdsHasTheUndefinedOnes() {
        LtSearchSpace.Caps caps = new LtSearchSpace.Caps(5, List.of(), List.of(), false, 0, false, -1);
        assertEquals(List.of(new LtSearchSpace.Point(5, cublas.CUBLASLT_MATMUL_TILE_UNDEFINED,
                cublas.CUBLASLT_MATMUL_STAGES_UNDEFINED, 1, 0, 0, 0, 0)), LtSearchSpace.coarse(List.of(caps)));
        assertEquals(0, caps.customOptionMax(), "a failed query (-1) offers custom option 0 only");
    }

    @Test
    void coarsePointsInterleaveTheAlgorithmsSoACapLeavesNoneOut() {
        LtSearchSpace.Caps a = new LtSearchSpace.Caps(10, List.of(1, 2, 3), List.of(0), false, 0, false, 0);
        LtSearchSpace.Caps b = new LtSearchSpace.Caps(20, List.of(7), List.of(0), false, 0, false, 0);
        List<Integer> order = LtSearchSpace.coarse(List.of(a, b)).stream().map(p -> p.algoId() * 100 + p.tile()).toList();
        assertEquals(List.of(1001, 2007, 1002, 1003), order);
    }

    @Test
    void refinementsVaryReductionSwizzleCustomOptionAndClusterAroundThePoint() {
        LtSearchSpace.Caps caps = new LtSearchSpace.Caps(66, List.of(15), List.of(3), true, COMPUTE | OUTPUT, true, 7);
        LtSearchSpace.Point p = new LtSearchSpace.Point(66, 15, 3, 4, COMPUTE, 0, 0, 0);
        List<LtSearchSpace.Point> variants = LtSearchSpace.refinements(p, caps);
        int expected = 2 * 2 * (LtSearchSpace.MAX_CUSTOM_OPTION + 1) * LtSearchSpace.CLUSTER_SHAPES.size() - 1;
        assertEquals(expected, variants.size());
        assertFalse(variants.contains(p), "the point itself is timed already");
        assertTrue(variants.stream().allMatch(v -> v.tile() == 15 && v.stages() == 3 && v.splitK() == 4 && v.algoId() == 66));
        assertTrue(variants.stream().allMatch(v -> v.custom() <= LtSearchSpace.MAX_CUSTOM_OPTION));
        assertTrue(variants.stream().anyMatch(v -> v.reduction() == OUTPUT));
        for (int i = 1; i < variants.size(); i++) {
            assertTrue(variants.get(i - 1).variedFrom(p) <= variants.get(i).variedFrom(p), "fewer changes first");
        }
        assertEquals(1, variants.get(0).variedFrom(p));
    }

    @Test
    void anUnsplitPointKeepsItsReductionAndAnUnswizzlableOneItsSwizzle() {
        LtSearchSpace.Caps caps = new LtSearchSpace.Caps(66, List.of(15), List.of(3), true, COMPUTE | OUTPUT, false, 0);
        LtSearchSpace.Point p = new LtSearchSpace.Point(66, 15, 3, 1, 0, 0, 0, 0);
        List<LtSearchSpace.Point> variants = LtSearchSpace.refinements(p, caps);
        assertEquals(LtSearchSpace.CLUSTER_SHAPES.size() - 1, variants.size(), "only the cluster shape varies");
        assertTrue(variants.stream().allMatch(v -> v.reduction() == 0 && v.swizzle() == 0 && v.custom() == 0));
    }

    @Test
    void aStoredConfigurationMapsToItsPointWithoutAReductionWhenUnsplit() {
        List<Long> words = List.of(0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L);
        assertEquals(new LtSearchSpace.Point(66, 20, 8, 1, 0, 1, 2, 3),
                LtSearchSpace.Point.of(new LtAlgoConfig(66, 20, 8, 1, COMPUTE, 1, 2, 0, 3, words)));
        assertEquals(new LtSearchSpace.Point(66, 20, 8, 4, COMPUTE, 0, 0, 0),
                LtSearchSpace.Point.of(new LtAlgoConfig(66, 20, 8, 4, COMPUTE, 0, 0, 0, 0, words)));
    }
}
