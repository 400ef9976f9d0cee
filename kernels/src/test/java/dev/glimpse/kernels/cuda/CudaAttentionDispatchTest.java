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
    void tf32PrecisionWithoutCaptureRunsThe1xTf32Kernel() {
        assertEquals("attention_forward_tc64_1xtf32", CudaAttention.tensorCoreKernel(64, AttentionPrecision.TF32, false));
        assertEquals("attention_forward_tc80_1xtf32", CudaAttention.tensorCoreKernel(80, AttentionPrecision.TF32, false));
        assertEquals("attention_forward_tc128_1xtf32", CudaAttention.tensorCoreKernel(128, AttentionPrecision.TF32, false));
    }

    @Test
    void f32PrecisionRunsThe3xTf32Kernel() {
        assertEquals("attention_forward_tc64", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false));
        assertEquals("attention_forward_tc128", CudaAttention.tensorCoreKernel(128, AttentionPrecision.F32, true));
    }

    @Test
    void captureRunsThe3xTf32KernelAtTf32Precision() {
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.TF32, true));
    }

    @Test
    void everyTensorCoreKernelIsInTheCommittedFatbin() throws IOException {
        String fatbin;
        try (InputStream in = CudaAttention.class.getResourceAsStream(KernelLibrary.RESOURCE_DIR + "attention.fatbin")) {
            assertNotNull(in, "attention.fatbin on the classpath");
            fatbin = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
        for (int d : new int[] {16, 64, 72, 80, 128}) {
            int padded = CudaAttention.tensorCoreDim(64, d);
            for (AttentionPrecision precision : AttentionPrecision.values()) {
                for (boolean captured : new boolean[] {false, true}) {
                    String kernel = CudaAttention.tensorCoreKernel(padded, precision, captured);
                    assertTrue(fatbin.contains(kernel + "\0"), kernel + " is not in attention.fatbin (run tools/cuda/build-kernels.sh)");
                }
            }
        }
    }
}
