package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WideDecodePlan} and the {@code wide} choice of decode attention's kernel (no GPU needed). */
class WideDecodePlanTest {

    private static final int H200_SMS = 132;

    @Test
    void qwen2TakesAboutOneBlockPerMultiprocessor() {
        WideDecodePlan plan = WideDecodePlan.of(14, 2, 8192, H200_SMS, 1, 64);
        assertEquals(new WideDecodePlan(7, 1, 8, 66), plan);
        assertEquals("attention_decode_wide_d64_h8", plan.kernel(DType.F32, 64));
        assertEquals("attention_decode_wide_bf16_d64_h8", plan.kernel(DType.BF16, 64));
    }

    @Test
    void llamaSpreadsItsManyHeadGroupsOverFewSplits() {
        WideDecodePlan plan = WideDecodePlan.of(32, 32, 8192, H200_SMS, 1, 64);
        assertEquals(new WideDecodePlan(1, 1, 1, 5), plan);
        assertEquals("attention_decode_wide_f16_d128_h1", plan.kernel(DType.F16, 128));
    }

    @Test
    void splitsStopAtOnePerFullChunkAndAtTheMergesLimit() {
        assertEquals(4, WideDecodePlan.of(14, 2, 256, H200_SMS, 1, 64).splits());
        assertEquals(WideDecodePlan.MAX_SPLITS, WideDecodePlan.of(14, 2, 16384, H200_SMS, 64, 32).splits());
    }

    @Test
    void everyKernelItNamesWaitsForItsPredecessor() {
        for (DType cache : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int d : new int[] {64, 128}) {
                for (int group : new int[] {1, 2, 3, 7, 8, 12}) {
                    String kernel = WideDecodePlan.of(group * 2, 2, 8192, H200_SMS).kernel(cache, d);
                    assertTrue(GridDependency.waits(kernel), kernel);
                }
            }
        }
    }

    @Test
    void everyRopeKernelItNamesWaitsForItsPredecessor() {
        for (DType cache : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int d : new int[] {64, 128}) {
                for (int group : new int[] {1, 2, 3, 7, 8, 12}) {
                    String kernel = WideDecodePlan.of(group * 2, 2, 8192, H200_SMS).ropeKernel(cache, d);
                    assertTrue(GridDependency.waits(kernel), kernel);
                }
            }
        }
        assertEquals("attention_decode_wide_rope_bf16_d64_h8", WideDecodePlan.of(14, 2, 8192, H200_SMS).ropeKernel(DType.BF16, 64));
    }

    @Test
    void onlyHeadDims64And128OverAlignedCachesAreTaken() {
        assertTrue(WideDecodePlan.supports(64, true));
        assertTrue(WideDecodePlan.supports(128, true));
        assertFalse(WideDecodePlan.supports(64, false));
        assertFalse(WideDecodePlan.supports(96, true));
    }

    @Test
    void theGridPropertyIsParsedAndChecked() {
        withProperties(Map.of(WideDecodePlan.GRID_PROPERTY, "2x128"), () -> {
            assertEquals(64, WideDecodePlan.of(14, 2, 8192, H200_SMS).splits(), "one per 128 keys of the cache");
            return null;
        });
        withProperties(Map.of(WideDecodePlan.GRID_PROPERTY, "2x100"), () -> {
            assertThrows(TensorException.class, WideDecodePlan::configuredGrid);
            return null;
        });
        assertEquals(66, WideDecodePlan.of(14, 2, 8192, H200_SMS).splits(), "the default 1x64");
    }

    @Test
    void theKernelPropertyTakesWide() {
        withProperties(Map.of(CudaDecodeAttention.KERNEL_PROPERTY, "wide"), () -> {
            assertEquals(CudaDecodeAttention.Kernel.WIDE, CudaDecodeAttention.Kernel.configured());
            return null;
        });
        assertTrue(CudaDecodeAttention.Kernel.WIDE.online(64, 16), "heads the wide kernel does not take run online");
    }
}
