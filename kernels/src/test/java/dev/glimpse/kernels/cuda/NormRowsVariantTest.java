package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link NormRowsVariant}: the property's values and the kernel names they launch (no GPU needed). */
class NormRowsVariantTest {

    @Test
    void unsetOrBlankKeepsTheV4Kernels() {
        assertEquals(NormRowsVariant.V4, NormRowsVariant.parse(null));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.parse(" "));
    }

    @Test
    void namesAreCaseInsensitive() {
        assertEquals(NormRowsVariant.PREFETCH, NormRowsVariant.parse(" Prefetch "));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.parse("V4"));
        assertEquals(NormRowsVariant.AUTO, NormRowsVariant.parse("auto"));
    }

    @Test
    void anUnknownNameIsRejectedWithTheKnownOnes() {
        CudaException e = assertThrows(CudaException.class, () -> NormRowsVariant.parse("cluster"));
        assertTrue(e.getMessage().contains("-Dglimpse.cuda.normRows=cluster"), e.getMessage());
        assertTrue(e.getMessage().contains("v4, prefetch, auto, staged"), e.getMessage());
    }

    @Test
    void eachVariantNamesItsKernelPerFloat4Count() {
        assertEquals("rms_norm_rows_v4_4", NormRowsVariant.V4.kernel("rms_norm_rows", 4));
        assertEquals("layer_norm_rows_prefetch_1", NormRowsVariant.PREFETCH.kernel("layer_norm_rows", 1));
    }

    @Test
    void autoNamesNoKernelOfItsOwn() {
        assertThrows(IllegalStateException.class, () -> NormRowsVariant.AUTO.kernel("rms_norm_rows", 4));
        assertThrows(IllegalStateException.class, NormRowsVariant.AUTO::module);
    }

    @Test
    void v4StaysInRowsAndTheVariantsHaveTheirOwnModule() {
        assertEquals("rows", NormRowsVariant.V4.module());
        assertEquals("norm_rows", NormRowsVariant.PREFETCH.module());
        assertEquals("norm_rows", NormRowsVariant.STAGED.module());
        assertEquals("layer_norm_rows_staged_8", NormRowsVariant.STAGED.kernel("layer_norm_rows", 8));
    }

    /** Resident blocks per SM as rms_norm_rows at 4 float4 per thread has them on sm_90: prefetch 4, v4 6. */
    private static int residentAt4(NormRowsVariant v) {
        return v == NormRowsVariant.PREFETCH ? 4 : 6;
    }

    @Test
    void autoTakesPrefetchWhereItsGridFitsTheSameWaves() {
        assertEquals(NormRowsVariant.PREFETCH, NormRowsVariant.AUTO.forGrid(74, 132, NormRowsVariantTest::residentAt4));
        assertEquals(NormRowsVariant.PREFETCH, NormRowsVariant.AUTO.forGrid(528, 132, NormRowsVariantTest::residentAt4));
        assertEquals(NormRowsVariant.PREFETCH, NormRowsVariant.AUTO.forGrid(1056, 132, NormRowsVariantTest::residentAt4),
                "two waves of either");
    }

    @Test
    void autoKeepsV4WhereThePrefetchGridTakesAnotherWave() {
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.forGrid(586, 132, NormRowsVariantTest::residentAt4));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.forGrid(1584, 132, NormRowsVariantTest::residentAt4),
                "three waves of prefetch, two of v4");
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.forGrid(10_000, 132, NormRowsVariantTest::residentAt4));
    }

    @Test
    void explicitVariantsIgnoreTheGrid() {
        assertEquals(NormRowsVariant.PREFETCH, NormRowsVariant.PREFETCH.forGrid(586, 132, v -> 1));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.V4.forGrid(74, 132, v -> 1));
    }

    @Test
    void everyVariantKernelWaitsForItsPredecessorUnderPrefillPdl() {
        for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.V4, NormRowsVariant.PREFETCH,
                NormRowsVariant.STAGED}) {
            for (int vpt : new int[] {1, 2, 4, 8}) {
                for (String norm : new String[] {"rms_norm_rows", "layer_norm_rows"}) {
                    String kernel = variant.kernel(norm, vpt);
                    assertTrue(GridDependency.PREFILL_WAITING_KERNELS.contains(kernel), kernel);
                }
                String tokenMajor = variant.kernel("layer_norm_rows", vpt) + "_token_major";
                assertTrue(GridDependency.PREFILL_WAITING_KERNELS.contains(tokenMajor), tokenMajor);
            }
        }
    }

    @Test
    void stagedKernelsTakeGammaThenBetaFromA16ByteBoundary() {
        try (Tensor gamma = Tensor.allocate(DType.BF16, 1150); Tensor beta = Tensor.allocate(DType.F32, 1150)) {
            assertEquals(2304 + 4600, CudaPointwise.stagedBytes(gamma, beta));
            assertEquals(2304, CudaPointwise.stagedBytes(gamma, null));
        }
        try (Tensor gamma = Tensor.allocate(DType.F32, 8192); Tensor beta = Tensor.allocate(DType.F32, 8192)) {
            assertEquals(64 * 1024, CudaPointwise.stagedBytes(gamma, beta));
        }
    }
}
