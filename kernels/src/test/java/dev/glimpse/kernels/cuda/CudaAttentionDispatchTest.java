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

    @Test
    void bf16PrecisionWithoutCaptureRunsThePackedBf16MmaKernelOfTheGivenWarps() {
        for (int d : new int[] {64, 80, 128}) {
            for (int warps : new int[] {4, 8}) {
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, AttentionPrecision.BF16, false, warps);
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
        CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, false, 8);
        assertEquals("attention_mma_packed_f16_d80_w8", k.name());
        assertEquals("attention_mma_pack_f16_d80", k.packKernel());
    }

    @Test
    void noPackedWarpsRunsTheFirstMmaKernelOnF32Operands() {
        for (AttentionPrecision precision : new AttentionPrecision[] {AttentionPrecision.BF16, AttentionPrecision.F16}) {
            String type = precision == AttentionPrecision.BF16 ? "bf16" : "f16";
            for (int d : new int[] {64, 80, 128}) {
                CudaAttention.TensorCoreKernel k = CudaAttention.tensorCoreKernel(d, precision, false, 0);
                assertEquals("attention_mma_" + type + "_d" + d, k.name());
                assertNull(k.packKernel());
                assertEquals(64, k.queriesPerBlock());
                assertEquals(128, k.threads());
            }
        }
    }

    @Test
    void f32PrecisionRunsThe3xTf32Kernel() {
        assertEquals("attention_forward_tc64", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, 8).name());
        assertEquals("attention_forward_tc128", CudaAttention.tensorCoreKernel(128, AttentionPrecision.F32, true, 4).name());
        assertEquals("attention", CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, 0).module());
        assertNull(CudaAttention.tensorCoreKernel(64, AttentionPrecision.F32, false, 8).packKernel());
    }

    /** Captured column sums read the pass's log-sum-exps, so they take the F32-exact kernel at any precision. */
    @Test
    void columnSumsRunThe3xTf32KernelAtHalfPrecision() {
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.BF16, true, 8).name());
        assertEquals("attention_forward_tc80", CudaAttention.tensorCoreKernel(80, AttentionPrecision.F16, true, 4).name());
    }

    @Test
    void packedKernelRunsOnlyFourOrEightWarps() {
        assertThrows(TensorException.class, () -> CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, 2));
    }

    /**
     * The first kernel: K and V tiles of 64 rows, 16-bit, each row padded by 8 elements
     * (2 x 64 x (DP + 8) x 2 bytes), and their F32 staging tiles (2 x 64 x DP x 4 bytes).
     */
    @Test
    void firstMmaKernelSharedMemoryHoldsPaddedHalfPrecisionTilesAndF32Staging() {
        assertEquals(2 * 64 * 72 * 2 + 2 * 64 * 64 * 4,
                CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, 0).sharedBytes());
        assertEquals(2 * 64 * 136 * 2 + 2 * 64 * 128 * 4,
                CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false, 0).sharedBytes());
    }

    /** The packed kernel: two K and two V tiles of 64 padded 16-bit rows (68 KiB at DP=128), whatever the warps. */
    @Test
    void packedMmaKernelSharedMemoryHoldsTwoBuffersOfKAndV() {
        assertEquals(4 * 64 * 72 * 2, CudaAttention.tensorCoreKernel(64, AttentionPrecision.BF16, false, 8).sharedBytes());
        assertEquals(4 * 64 * 136 * 2, CudaAttention.tensorCoreKernel(128, AttentionPrecision.F16, false, 4).sharedBytes());
    }

    /**
     * On a 132-SM H200: OneVision's SigLIP (729 queries x 512 heads, 3072 blocks of 128) and Qwen2's
     * video prefill (6296 x 14, 700 blocks) get 8 warps; LLaVA-7B's image prefill (586 x 32, 160
     * blocks, fewer than two per SM) keeps 4 so that the grid still fills the GPU.
     */
    @Test
    void defaultVariantTakesEightWarpsOnlyWhenTheGridFillsTheGpuTwice() {
        assertEquals(8, AttentionMmaVariant.PACKED.warps(729, 512, 132));
        assertEquals(8, AttentionMmaVariant.PACKED.warps(6296, 14, 132));
        assertEquals(4, AttentionMmaVariant.PACKED.warps(586, 32, 132));
        assertEquals(8, AttentionMmaVariant.PACKED.warps(256 * 66, 2, 132));
        assertEquals(4, AttentionMmaVariant.PACKED.warps(256 * 66 - 128, 2, 132));
    }

    @Test
    void fixedVariantsIgnoreTheShape() {
        assertEquals(0, AttentionMmaVariant.V1.warps(729, 512, 132));
        assertEquals(4, AttentionMmaVariant.PACKED_4_WARPS.warps(729, 512, 132));
        assertEquals(8, AttentionMmaVariant.PACKED_8_WARPS.warps(16, 1, 132));
    }

    @Test
    void variantNamesParseCaseInsensitivelyAndDefaultToPacked() {
        assertEquals(AttentionMmaVariant.PACKED, AttentionMmaVariant.parse(null));
        assertEquals(AttentionMmaVariant.PACKED, AttentionMmaVariant.parse(" "));
        assertEquals(AttentionMmaVariant.V1, AttentionMmaVariant.parse("V1"));
        assertEquals(AttentionMmaVariant.PACKED_8_WARPS, AttentionMmaVariant.parse(" v2w8 "));
        CudaException e = assertThrows(CudaException.class, () -> AttentionMmaVariant.parse("v3"));
        assertTrue(e.getMessage().contains(AttentionMmaVariant.PROPERTY) && e.getMessage().contains("v2w4"), e.getMessage());
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
                    for (int warps : new int[] {0, 4, 8}) {
                        CudaAttention.TensorCoreKernel kernel =
                                CudaAttention.tensorCoreKernel(padded, precision, captured, warps);
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
