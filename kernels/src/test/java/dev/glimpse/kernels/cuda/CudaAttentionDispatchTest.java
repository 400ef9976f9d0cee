package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionPrecision;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which tensor-core prefill kernel CudaAttention launches (no GPU needed). */
class CudaAttentionDispatchTest {

    @Test
    void bf16PrecisionWithoutCaptureRunsTheBf16MmaKernel() {
        for (int d : new int[] {64, 80, 128}) {
            CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false);
            assertEquals("attention_mma", k.module());
            assertEquals("attention_mma_bf16_d" + d, k.name());
        }
    }

    @Test
    void f16PrecisionWithoutCaptureRunsTheF16MmaKernel() {
        for (int d : new int[] {64, 80, 128}) {
            CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.F16, false);
            assertEquals("attention_mma", k.module());
            assertEquals("attention_mma_f16_d" + d, k.name());
        }
    }

    @Test
    void f32PrecisionRunsThe3xTf32Kernel() {
        assertEquals("attention_forward_tc64", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false).name());
        assertEquals("attention_forward_tc128", CudaAttention.tensorCoreKernel(128, AttentionPrecision.F32, true).name());
        assertEquals("attention", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false).module());
    }

    @Test
    void captureRunsThe3xTf32KernelAtHalfPrecision() {
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, true).name());
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, true).name());
    }

    /**
     * K and V tiles of 64 rows, 16-bit, each row padded by 8 elements (2 x 64 x (DP + 8) x 2 bytes),
     * and their F32 staging tiles (2 x 64 x DP x 4 bytes); at DP=128 about 98 KiB, two blocks per SM.
     */
    @Test
    void mmaKernelSharedMemoryHoldsPaddedHalfPrecisionTilesAndF32Staging() {
        assertEquals(2 * 64 * 72 * 2 + 2 * 64 * 64 * 4,
                CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false).sharedBytes());
        assertEquals(2 * 64 * 136 * 2 + 2 * 64 * 128 * 4,
                CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false).sharedBytes());
    }

    @Test
    void everyTensorCoreKernelIsInItsCommittedFatbin() throws IOException {
        for (int d : new int[] {16, 64, 72, 80, 128}) {
            int padded = CudaAttention.tensorCoreDim(64, d);
            for (AttentionPrecision precision : AttentionPrecision.values()) {
                for (boolean captured : new boolean[] {false, true}) {
                    CudaAttention.TensorCoreKernel kernel = CudaAttention.tensorCoreKernel(padded, precision, captured);
                    String fatbin = fatbin(kernel.module());
                    assertTrue(fatbin.contains(kernel.name() + "\0"),
                            kernel.name() + " is not in " + kernel.module() + ".fatbin (run tools/cuda/build-kernels.sh)");
                }
            }
        }
    }

    private static String fatbin(String module) throws IOException {
        try (InputStream in = CudaAttention.class.getResourceAsStream(KernelLibrary.RESOURCE_DIR + module + ".fatbin")) {
            assertNotNull(in, module + ".fatbin on the classpath");
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
