package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only: the resident tower attention ({@link TowerAttentionResident},
 * {@code attention_mma_images_resident_<t>_d<64|80>_q<5|6>s2}) behind {@link CudaBackend#attentionImagesAsHeads}:
 * under {@code s2} and {@code auto} it stores the bits of the tiled {@code w2s2} kernel (the same tile order,
 * arithmetic and merge) and stays within the 16-bit tolerances of the CPU's composition, on CLIP-L/336's shape (577 tokens, 16
 * heads of 64; one and two images), SigLIP so400m's (729 tokens, 16 heads of 72 padded to 80), odd token counts (33,
 * 65, 129: ragged last key tiles, query warps without rows) and 1 to 16 heads, eagerly and replayed from a CUDA
 * graph. Where it cannot run (fewer queries than the tensor-core kernels take, head dims past 72, more keys than the
 * shared memory holds), and under auto past one wave, the tiled path runs; unset means auto. auto steps aside where
 * a tiled shape is forced.
 */
class CudaTowerAttentionResidentTest {

    /** CudaAttentionImagesAsHeadsTest's tolerances vs the CPU's F32 attention (normalised). */
    private static final double BF16_VS_CPU = 3e-2;
    private static final double F16_VS_CPU = 5e-3;
    private static final Map<String, String> TILED =
            Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, "w2s2");
    /** The tiled choice left to auto (blank properties read as auto). */
    private static final Map<String, String> AUTO_TILED =
            Map.of(AttentionMmaWarps.PROPERTY, "", AttentionSmallGrid.PROPERTY, "");

    @ParameterizedTest(name = "{4} {0} T={1} images={2} heads={3}")
    @CsvSource({"BF16, 577, 1, 16, s2", "F16, 577, 1, 16, s2", "BF16, 577, 2, 16, s2", "BF16, 33, 1, 1, s2",
            "F16, 65, 2, 3, s2", "BF16, 129, 1, 16, s2", "BF16, 17, 2, 16, s2", "F16, 577, 1, 5, s2",
            "BF16, 577, 1, 16, auto", "BF16, 33, 1, 1, auto", "F16, 129, 1, 16, auto", "BF16, 257, 1, 3, s2"})
    void clipDimsStoreTheBitsOfTheTiledKeySplitKernel(String type, int tokens, int images, int heads,
                                                    String variant) {
        check(type, 64, tokens, images, heads, variant, true, false);
    }

    /**
     * SigLIP so400m's shape (729 tokens, 16 heads of 72 padded to 80: rows of 72 dims in shared memory) and other
     * dims up to 72 at padded dim 80: the bits of w2s2 too (the dims past 72 add exact zeros to the scores).
     */
    @ParameterizedTest(name = "{4} {0} D={1} T={2} images={3}")
    @CsvSource({"BF16, 72, 729, 1, s2", "F16, 72, 729, 1, s2", "BF16, 72, 729, 2, s2", "F16, 72, 197, 1, auto",
            "BF16, 70, 65, 2, s2", "F16, 66, 33, 1, auto", "BF16, 72, 17, 3, s2", "BF16, 72, 729, 1, auto"})
    void siglipDimsStoreTheBitsOfTheTiledKeySplitKernel(String type, int d, int tokens, int images, String variant) {
        check(type, d, tokens, images, 16, variant, true, false);
    }

    @ParameterizedTest(name = "{0} {1} T={2}")
    @CsvSource({"BF16, s2, 64, 577", "F16, s2, 64, 129", "BF16, auto, 64, 577", "F16, auto, 64, 257",
            "BF16, s2, 72, 729", "F16, auto, 72, 729"})
    void aCapturedGraphReplaysTheResidentKernel(String type, String variant, int d, int tokens) {
        check(type, d, tokens, 1, 16, variant, true, true);
    }

    /**
     * Shapes the resident kernel does not take run the tiled kernels with the property set: head dims 73, 80 and 128
     * (past the 72 dims of its rows at padded dim 80), 800 keys (more than an H200's shared memory holds: 12 key tiles
     * at most) and 5 tokens (fewer than the tensor-core kernels take: the composition runs).
     */
    @ParameterizedTest(name = "{3} {0} D={1} T={2}")
    @CsvSource({"BF16, 80, 197, s2", "F16, 128, 130, s2", "F16, 73, 129, auto", "BF16, 64, 800, s2",
            "BF16, 72, 800, auto", "BF16, 64, 5, s2"})
    void shapesItDoesNotTakeRunTheTiledKernels(String type, int d, int tokens, String variant) {
        check(type, d, tokens, 1, 4, variant, false, false);
    }

    /**
     * auto keeps the tiled kernels where the resident grid would take more than one wave: two CLIP-L/336 images (256
     * blocks) and four SigLIP frames (512) on an H200's 132 SMs; one image of either runs resident (above).
     */
    @ParameterizedTest(name = "{0} D={1} T={2} images={3}")
    @CsvSource({"BF16, 64, 577, 2", "F16, 72, 729, 4"})
    void autoKeepsTheTiledKernelsPastOneWave(String type, int d, int tokens, int images) {
        check(type, d, tokens, images, 16, "auto", false, false);
    }

    /** Unset means auto: one CLIP-L/336 image runs resident. */
    @Test
    void unsetMeansAuto() {
        check("BF16", 64, 577, 1, 16, "", true, false);
    }

    /**
     * auto steps aside where a tiled shape is forced ({@link TowerAttentionResident#yieldsToForcedShape}), so the
     * forced shape runs as asked; s2 does not.
     */
    @Test
    void autoStepsAsideForAForcedTiledShape() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(41, 1f, DType.F32, 577, 16, 64); Tensor gq = gpu.upload(q);
             Tensor rows = gpu.allocate(DType.BF16, 1, 577, 16 * 64)) {
            for (String variant : new String[] {"auto", "s2"}) {
                long before = gpu.towerAttentionResidentLaunches();
                Map<String, String> settings = new HashMap<>(TILED);
                settings.put(TowerAttentionResident.PROPERTY, variant);
                CudaTestSupport.withProperties(settings, () -> {
                    gpu.attentionImagesAsHeads(gq, gq, gq, 0.125f, rows, AttentionPrecision.BF16);
                    return null;
                });
                assertEquals(variant.equals("s2") ? 1 : 0, gpu.towerAttentionResidentLaunches() - before,
                        variant + " under a forced tiled shape: resident launches");
            }
        }
    }

    /**
     * attentionImagesAsHeads of {@code images} images of {@code heads} heads with {@value TowerAttentionResident#PROPERTY}
     * = {@code variant} (blank: unset) against the tiled w2s2 kernel (its bits) and the CPU; {@code resident}:
     * whether the resident kernel must have run (once);
     * {@code graph}: the resident call captured into a CUDA graph and replayed.
     */
    private static void check(String type, int d, int tokens, int images, int heads, String variant, boolean resident,
                              boolean graph) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        AttentionPrecision precision = AttentionPrecision.valueOf(type);
        int allHeads = images * heads;
        float scale = (float) Math.pow(d, -0.5);
        String label = "resident " + variant + " " + type + " D=" + d + " T=" + tokens + " images=" + images
                + " heads=" + heads + (graph ? " graph" : "");
        try (Tensor q = random(41, 1f, DType.F32, tokens, allHeads, d);
             Tensor k = random(42, 1f, DType.F32, tokens, allHeads, d);
             Tensor v = random(43, 1f, DType.F32, tokens, allHeads, d); Tensor gq = gpu.upload(q);
             Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor tiled = gpu.allocate(half, images, tokens, heads * d);
             Tensor rows = gpu.allocate(half, images, tokens, heads * d);
             Tensor expected = Tensor.allocate(half, images, tokens, heads * d)) {
            // auto (and unset, which means auto) steps aside for a forced tiled shape, so it runs with the tiled
            // choice left to auto too; where it then stays tiled, the expected bits are auto's own tiled choice
            boolean autoChoice = !variant.equals("s2");
            Map<String, String> tiledSettings = new HashMap<>(autoChoice && !resident ? AUTO_TILED : TILED);
            tiledSettings.put(TowerAttentionResident.PROPERTY, "off");
            CudaTestSupport.withProperties(tiledSettings, () -> {
                gpu.attentionImagesAsHeads(gq, gk, gv, scale, tiled, precision);
                return null;
            });
            long before = gpu.towerAttentionResidentLaunches();
            Map<String, String> settings = new HashMap<>(autoChoice ? AUTO_TILED : TILED);
            settings.put(TowerAttentionResident.PROPERTY, variant);
            CudaTestSupport.withProperties(settings, () -> {
                Runnable call = () -> gpu.attentionImagesAsHeads(gq, gk, gv, scale, rows, precision);
                if (graph) {
                    CudaTestSupport.runFromGraph(call);
                } else {
                    call.run();
                }
                return null;
            });
            assertEquals(resident ? 1 : 0, gpu.towerAttentionResidentLaunches() - before, label + ": resident launches");
            assertBitsEqual(label + " vs the tiled kernels", tiled, rows);
            CPU.attentionImagesAsHeads(q, k, v, scale, expected, precision);
            assertClose(label + " vs CPU", expected, rows, half == DType.BF16 ? BF16_VS_CPU : F16_VS_CPU);
        }
    }
}
