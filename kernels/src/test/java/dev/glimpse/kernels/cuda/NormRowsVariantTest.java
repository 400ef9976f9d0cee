package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link NormRowsVariant}: the property's values, the auto rule and the kernel names they launch (no GPU needed). */
class NormRowsVariantTest {

    @Test
    void unsetOrBlankIsAuto() {
        assertEquals(NormRowsVariant.AUTO, NormRowsVariant.parse(null));
        assertEquals(NormRowsVariant.AUTO, NormRowsVariant.parse(" "));
    }

    @Test
    void namesAreCaseInsensitive() {
        assertEquals(NormRowsVariant.STAGED, NormRowsVariant.parse(" Staged "));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.parse("V4"));
        assertEquals(NormRowsVariant.AUTO, NormRowsVariant.parse("auto"));
    }

    @Test
    void anUnknownNameIsRejectedWithTheKnownOnes() {
        CudaException e = assertThrows(CudaException.class, () -> NormRowsVariant.parse("prefetch"));
        assertTrue(e.getMessage().contains("-Dglimpse.cuda.normRows=prefetch"), e.getMessage());
        assertTrue(e.getMessage().contains("auto, v4, staged"), e.getMessage());
    }

    @Test
    void autoStagesRmsNormOfAtMost1024Rows() {
        assertEquals(NormRowsVariant.STAGED, NormRowsVariant.AUTO.resolve("rms_norm_rows", 1));
        assertEquals(NormRowsVariant.STAGED, NormRowsVariant.AUTO.resolve("rms_norm_rows", 74));
        assertEquals(NormRowsVariant.STAGED, NormRowsVariant.AUTO.resolve("rms_norm_rows", 1024));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.resolve("rms_norm_rows", 1025));
    }

    @Test
    void autoKeepsV4ForLayerNorm() {
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.resolve("layer_norm_rows", 577));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.AUTO.resolve("layer_norm_rows", 1));
    }

    @Test
    void explicitVariantsIgnoreTheRows() {
        assertEquals(NormRowsVariant.STAGED, NormRowsVariant.STAGED.resolve("layer_norm_rows", 100_000));
        assertEquals(NormRowsVariant.V4, NormRowsVariant.V4.resolve("rms_norm_rows", 74));
    }

    @Test
    void eachFamilyNamesItsKernelAndModule() {
        assertEquals("rms_norm_rows_v4_4", NormRowsVariant.V4.kernel("rms_norm_rows", 4));
        assertEquals("rows", NormRowsVariant.V4.module());
        assertEquals("layer_norm_rows_staged_8", NormRowsVariant.STAGED.kernel("layer_norm_rows", 8));
        assertEquals("norm_rows", NormRowsVariant.STAGED.module());
    }

    @Test
    void autoNamesNoKernelOfItsOwn() {
        assertThrows(IllegalStateException.class, () -> NormRowsVariant.AUTO.kernel("rms_norm_rows", 4));
        assertThrows(IllegalStateException.class, NormRowsVariant.AUTO::module);
    }

    @Test
    void everyKernelWaitsForItsPredecessorUnderPrefillPdl() {
        for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.V4, NormRowsVariant.STAGED}) {
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
