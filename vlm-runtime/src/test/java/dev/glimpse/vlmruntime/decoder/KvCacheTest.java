package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvCacheTest {

    private static final Device GPU = Device.cuda(0);

    private final CpuBackend backend = new CpuBackend();

    @AfterEach
    void clearProperty() {
        System.clearProperty(KvCache.DTYPE_PROPERTY);
    }

    @ParameterizedTest
    @CsvSource({"BF16, BF16", "F16, F16", "F32, F32"})
    void autoStoresTheModelsAttentionOperandTypeOnAGpu(DType weights, DType expected) {
        assertEquals(expected, KvCache.dtypeFor(GPU, weights, 1));
        System.setProperty(KvCache.DTYPE_PROPERTY, "AUTO");
        assertEquals(expected, KvCache.dtypeFor(GPU, weights, 4));
    }

    @ParameterizedTest
    @CsvSource({"BF16, 5", "F16, 7", "BF16, 8"})
    void autoKeepsWideQueryHeadGroupsF32(DType weights, int group) {
        assertEquals(DType.F32, KvCache.dtypeFor(GPU, weights, group));
    }

    @ParameterizedTest
    @CsvSource({"BF16, 7, BF16", "F16, 1, F16", "F32, 7, F32"})
    void halfPropertyTakesTheOperandTypeForEveryGroup(DType weights, int group, DType expected) {
        System.setProperty(KvCache.DTYPE_PROPERTY, "half");
        assertEquals(expected, KvCache.dtypeFor(GPU, weights, group));
        assertEquals(DType.F32, KvCache.dtypeFor(Device.CPU, weights, group));
    }

    @ParameterizedTest
    @CsvSource({"BF16", "F16", "F32"})
    void hostCachesStayF32BecauseCpuAttentionComputesF32(DType weights) {
        assertEquals(DType.F32, KvCache.dtypeFor(Device.CPU, weights, 1));
    }

    @ParameterizedTest
    @CsvSource({"BF16", "F16", "F32"})
    void f32PropertyKeepsEveryCacheF32(DType weights) {
        System.setProperty(KvCache.DTYPE_PROPERTY, "f32");
        assertEquals(DType.F32, KvCache.dtypeFor(GPU, weights, 1));
    }

    @Test
    void unknownPropertyValueIsRejectedWithItsName() {
        System.setProperty(KvCache.DTYPE_PROPERTY, "bf8");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvCache.dtypeFor(GPU, DType.BF16, 1));
        assertTrue(e.getMessage().contains("glimpse.kvCache") && e.getMessage().contains("bf8"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"BF16", "F16"})
    void appendRoundsToTheCacheTypeAndViewsWidenExactly(DType dtype) {
        float[] k = {1.0f + 0x1p-12f, -3.3333333f, 65504.5f, 1e-3f};
        float[] v = {0.1f, 0.2f, 0.3f, -7.77777f};
        try (KvCache cache = new KvCache(backend, 1, 2, 2, 4, dtype);
             Tensor tk = Tensor.of(k, 1, 2, 2); Tensor tv = Tensor.of(v, 1, 2, 2)) {
            cache.append(backend, 0, tk, tv, new int[] {7}, 0);
            assertEquals(dtype, cache.dtype());
            assertEquals(dtype, cache.keyBlock(0).dtype());
            assertArrayEquals(rounded(k, dtype), cache.keys(0, 1).toFloatArray());
            assertArrayEquals(rounded(v, dtype), cache.values(0, 1).toFloatArray());
            assertArrayEquals(new int[] {7}, cache.tokens(0));
        }
    }

    @Test
    void rejectsIntegerEntries() {
        assertThrows(IllegalArgumentException.class, () -> new KvCache(backend, 1, 1, 2, 4, DType.I32));
    }

    private static float[] rounded(float[] x, DType dtype) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = dtype == DType.BF16 ? DType.bf16ToFloat(DType.floatToBf16(x[i]))
                    : Float.float16ToFloat(Float.floatToFloat16(x[i]));
        }
        return r;
    }
}
