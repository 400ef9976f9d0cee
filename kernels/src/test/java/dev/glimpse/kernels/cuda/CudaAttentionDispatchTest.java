package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Which tensor-core prefill kernel CudaAttention launches (no GPU needed). */
class CudaAttentionDispatchTest {

    private static final float SCALE = 0.125f;

    @Test
    void bf16PrecisionWithoutCaptureRunsThePackedBf16MmaKernelOfTheGivenWarps() {
        for (int d : new int[] {64, 80, 128}) {
            for (int warps : new int[] {4, 8}) {
                CudaAttention.TensorCoreKernel k =
                        CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false, SCALE, warps);
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
        CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, false, SCALE, 8);
        assertEquals("attention_mma_packed_f16_d80_w8", k.name());
        assertEquals("attention_mma_pack_f16_d80", k.packKernel());
    }

    @Test
    void f32PrecisionRunsThe3xTf32Kernel() {
        assertEquals("attention_forward_tc64", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, 8).name());
        assertEquals("attention_forward_tc128", CudaAttention.tensorCoreKernel(128, AttentionPrecision.F32, true, SCALE, 4).name());
        assertEquals("attention", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, 4).module());
        assertNull(CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, SCALE, 8).packKernel());
    }

    /** Captured column sums read the pass's log-sum-exps, so they take the F32-exact kernel at any precision. */
    @Test
    void columnSumsRunThe3xTf32KernelAtHalfPrecision() {
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, true, SCALE, 8).name());
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, true, SCALE, 4).name());
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
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(128, precision, false, scale, 8);
                assertEquals("attention", k.module(), precision + " scale " + scale);
                assertEquals("attention_forward_tc128", k.name(), precision + " scale " + scale);
                assertNull(k.packKernel());
                assertEquals(64, k.queriesPerBlock());
                assertEquals(128, k.threads());
            }
        }
    }

    @Test
    void packedKernelRunsOnlyFourOrEightWarps() {
        assertThrows(TensorException.class, () -> CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, 2));
        assertThrows(TensorException.class, () -> CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, 0));
    }

    /** The packed kernel: two K and two V tiles of 64 padded 16-bit rows (68 KiB at DP=128), whatever the warps. */
    @Test
    void packedMmaKernelSharedMemoryHoldsTwoBuffersOfKAndV() {
        assertEquals(4 * 64 * 72 * 2, CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, SCALE, 8).sharedBytes());
        assertEquals(4 * 64 * 136 * 2, CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false, SCALE, 4).sharedBytes());
    }

    /**
     * On a 132-SM H200: OneVision's SigLIP (729 queries x 512 heads, 3072 blocks of 128) and Qwen2's
     * video prefill (6296 x 14, 700 blocks) get 8 warps; LLaVA-7B's image prefill (586 x 32, 160
     * blocks, fewer than two per SM) keeps 4 so that the grid still fills the GPU.
     */
    @Test
    void autoTakesEightWarpsOnlyWhenTheGridFillsTheGpuTwice() {
        assertEquals(8, AttentionMmaWarps.AUTO.warps(729, 512, 132));
        assertEquals(8, AttentionMmaWarps.AUTO.warps(6296, 14, 132));
        assertEquals(4, AttentionMmaWarps.AUTO.warps(586, 32, 132));
        assertEquals(8, AttentionMmaWarps.AUTO.warps(256 * 66, 2, 132));
        assertEquals(4, AttentionMmaWarps.AUTO.warps(256 * 66 - 128, 2, 132));
    }

    @Test
    void forcedWarpsIgnoreTheShape() {
        assertEquals(4, AttentionMmaWarps.FOUR.warps(729, 512, 132));
        assertEquals(8, AttentionMmaWarps.EIGHT.warps(16, 1, 132));
    }

    /** The names parse case-insensitively; the removed kernel names (v1, v2, v2w4) are rejected, naming the known ones. */
    @Test
    void warpNamesParseCaseInsensitivelyAndDefaultToAuto() {
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse(null));
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse(" "));
        assertEquals(AttentionMmaWarps.AUTO, AttentionMmaWarps.parse("Auto"));
        assertEquals(AttentionMmaWarps.FOUR, AttentionMmaWarps.parse("W4"));
        assertEquals(AttentionMmaWarps.EIGHT, AttentionMmaWarps.parse(" w8 "));
        for (String removed : new String[] {"v1", "v2", "v2w4"}) {
            CudaException e = assertThrows(CudaException.class, () -> AttentionMmaWarps.parse(removed));
            assertTrue(e.getMessage().contains(AttentionMmaWarps.PROPERTY) && e.getMessage().contains("auto, w4, w8"),
                    e.getMessage());
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
                    for (int warps : new int[] {4, 8}) {
                        CudaAttention.TensorCoreKernel kernel =
                                CudaAttention.tensorCoreKernel(padded, precision, captured, SCALE, warps);
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
}
