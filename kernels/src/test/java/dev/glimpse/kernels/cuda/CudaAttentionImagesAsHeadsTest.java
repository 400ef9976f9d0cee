package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        AttentionPrecision precision = AttentionPrecision.valueOf(type);
        int images = 3;
        int heads = 2;
        int allHeads = images * heads;
        float scale = (float) Math.pow(d, -0.5);
        String label = "attentionImagesAsHeads " + type + " D=" + d + " T=" + tokens + " " + warps
                + (shifted ? " shifted" : "");
        int outElements = images * tokens * heads * d;
        int shift = shifted ? 1 : 0;
        CudaTestSupport.withProperty(AttentionMmaWarps.PROPERTY, warps, () -> {
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
        });
    }
}
