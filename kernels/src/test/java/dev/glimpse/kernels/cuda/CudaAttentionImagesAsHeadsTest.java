package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

/**
 * GPU-only: {@code attention_mma_images_<t>_d<D>_<shape>} ({@link CudaBackend#attentionImagesAsHeads}
 * with a 16-bit out of the precision's type) stores exactly the bits of {@link CudaBackend#attention}
 * into F32 rows followed by the transposing copy to image-major 16-bit rows it replaces in the vision
 * tower, in every block shape ({@link AttentionMmaWarps}) at head dims 64 (CLIP), 72 (SigLIP, padded
 * to 80), 128 and 38 (not a multiple of 4), also into an out that starts 2 bytes past a 4-byte
 * boundary (single 16-bit stores); and matches the CPU's composition.
 */
class CudaAttentionImagesAsHeadsTest {

    /** CudaAttentionTest's 16-bit tolerances vs the CPU's F32 attention plus one 16-bit output ulp (normalised). */
    private static final double BF16_VS_CPU = 3e-2;
    private static final double F16_VS_CPU = 5e-3;

    @ParameterizedTest(name = "{0} D={1} T={2} {3} shifted={4}")
    @CsvSource({"BF16, 72, 197, w8, false", "BF16, 72, 197, w4, false", "BF16, 72, 197, w4x2, false",
            "F16, 64, 50, w4, false", "F16, 64, 300, w4x2, false", "BF16, 128, 130, w8, false",
            "F16, 128, 130, w4x2, false", "BF16, 38, 77, w4, false", "F16, 72, 197, w8, true",
            "BF16, 64, 90, w4x2, true"})
    void imageMajorRowsAreTheCopiedAttentionRows(String type, int d, int tokens, String warps, boolean shifted) {
        checkImageMajorRows(type, d, tokens, 3, 2, Map.of(AttentionMmaWarps.PROPERTY, warps), shifted);
    }

    /**
     * The small-grid shapes ({@link AttentionSmallGrid}, in place of {@code w4}) store the same rows:
     * CLIP-L/336 on one and two images (577 tokens, 16 heads of dim 64), SigLIP on one (729, dim 72
     * padded to 80), odd token counts; the single-round key-split shape with an images kernel ({@code w2s2b1} at
     * padded dim 80: SigLIP, 17 tokens of two images). Forced single-round shapes without one (w2s2b1 at 64 and
     * 128, w2s4b1) decline ({@link CudaAttention#hasImagesKernel}): the composition runs, the same bits.
     */
    @ParameterizedTest(name = "{0} D={1} T={2} images={3} {4} shifted={5}")
    @CsvSource({"BF16, 64, 577, 1, w2s2, false", "BF16, 64, 577, 2, w2s2, false", "F16, 64, 577, 1, w2s2, true",
            "BF16, 72, 729, 1, w2s2, false", "F16, 64, 257, 1, w2s2, false", "BF16, 64, 50, 2, w2s2, false",
            "BF16, 128, 130, 1, w2s2, false", "BF16, 64, 577, 1, w2, false", "F16, 72, 729, 1, w2, true",
            "BF16, 64, 577, 1, auto, false", "BF16, 72, 729, 1, auto, false", "F16, 72, 729, 1, auto, true",
            "F16, 72, 729, 1, w2s2b1, true", "BF16, 72, 17, 2, w2s2b1, false", "BF16, 64, 577, 1, w2s2b1, false",
            "F16, 72, 729, 1, w2s4b1, true"})
    void smallGridImageMajorRowsAreTheCopiedAttentionRows(String type, int d, int tokens, int images, String shape,
                                                          boolean shifted) {
        checkImageMajorRows(type, d, tokens, images, 16,
                Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, shape), shifted);
    }

    /**
     * attentionImagesAsHeads of {@code images} images of {@code heads} heads under the system
     * properties {@code settings}: the bits of attention's F32 rows (same properties) copied
     * image-major, and the CPU's composition within the 16-bit tolerances.
     */
    private static void checkImageMajorRows(String type, int d, int tokens, int images, int heads,
                                            Map<String, String> settings, boolean shifted) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        AttentionPrecision precision = AttentionPrecision.valueOf(type);
        int allHeads = images * heads;
        float scale = (float) Math.pow(d, -0.5);
        String label = "attentionImagesAsHeads " + type + " D=" + d + " T=" + tokens + " images=" + images + " " + settings
                + (shifted ? " shifted" : "");
        int outElements = images * tokens * heads * d;
        int shift = shifted ? 1 : 0;
        CudaTestSupport.withProperties(settings, () -> {
            try (Tensor q = random(31, 1f, DType.F32, tokens, allHeads, d);
                 Tensor k = random(32, 1f, DType.F32, tokens, allHeads, d);
                 Tensor v = random(33, 1f, DType.F32, tokens, allHeads, d); Tensor gq = gpu.upload(q);
                 Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v); Tensor rows = gpu.allocate(DType.F32, tokens, allHeads, d);
                 Tensor copied = gpu.allocate(half, images, tokens, heads * d);
                 Tensor directBuffer = gpu.allocate(half, outElements + shift);
                 Tensor expected = Tensor.allocate(half, images, tokens, heads * d)) {
                gpu.attention(gq, gk, gv, AttentionMask.BIDIRECTIONAL, scale, rows, null, null, precision);
                gpu.copy(rows.reshape(tokens, images, heads * d).transpose(0, 1), copied);
                Tensor direct = directBuffer.slice(0, shift, shift + outElements).reshape(images, tokens, heads * d);
                gpu.attentionImagesAsHeads(gq, gk, gv, scale, direct, precision);
                assertBitsEqual(label + " vs attention + copy", copied, direct);
                CPU.attentionImagesAsHeads(q, k, v, scale, expected, precision);
                assertClose(label + " vs CPU", expected, direct, half == DType.BF16 ? BF16_VS_CPU : F16_VS_CPU);
            }
            return null;
        });
    }
}
