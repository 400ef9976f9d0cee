package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import dev.glimpse.kernels.image.PixelNormalization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link CudaBackend#normalizePixels} ({@code normalize_pixels_u8}, pixels.cu) against
 * {@link PixelNormalization#writeHost}, bit for bit: every byte value, CLIP's and SigLIP's constants, rescale
 * and normalize each on and off, zero padding, several images, a plane as large as the image and a larger one,
 * and more pixels than the grid has threads.
 */
class CudaPixelNormalizationTest {

    private static final PixelNormalization CLIP = new PixelNormalization(true, 1.0 / 255, true,
            new float[] {0.48145466f, 0.4578275f, 0.40821073f}, new float[] {0.26862954f, 0.26130258f, 0.27577711f});

    /** SigLIP's processor constants. */
    private static final PixelNormalization SIGLIP = new PixelNormalization(true, 1.0 / 255, true,
            new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});

    @ParameterizedTest(name = "{0} images {1}x{2} into {3}x{4} rescale={5} normalize={6} {7}")
    @CsvSource({"3, 37, 53, 40, 60, true, true, clip", "2, 16, 16, 16, 16, true, true, clip",
            "1, 384, 384, 384, 384, true, true, siglip", "2, 33, 21, 33, 24, false, true, clip",
            "2, 33, 21, 36, 21, true, false, clip", "1, 9, 7, 9, 7, false, false, clip",
            "8, 384, 384, 384, 384, true, true, siglip"})   // more pixels than threads: the grid-stride loop turns
    void theDeviceGivesTheHostBits(int n, int h, int w, int planeH, int planeW, boolean rescale, boolean normalize,
                                   String constants) {
        CudaBackend gpu = cuda();
        PixelNormalization base = constants.equals("siglip") ? SIGLIP : CLIP;
        PixelNormalization norm = new PixelNormalization(rescale, rescale ? 1.0 / 255 : 1, normalize,
                normalize ? base.mean() : new float[3], normalize ? base.std() : new float[] {1, 1, 1});
        byte[] bytes = new byte[n * h * w * 3];
        SplittableRandom random = new SplittableRandom(n * 1000L + h);
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i < 256 ? i : random.nextInt(256));   // every byte value appears
        }
        try (Tensor rgb = Tensor.allocate(DType.U8, n, h, w, 3); Tensor expected = Tensor.allocate(DType.F32, n, 3, planeH, planeW)) {
            MemorySegment.copy(bytes, 0, rgb.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
            norm.writeHost(rgb, expected);
            try (Tensor deviceRgb = gpu.upload(rgb); Tensor out = gpu.allocate(DType.F32, n, 3, planeH, planeW)) {
                try (Tensor host = filled(n * 3 * planeH * planeW, 7f); Tensor stale = gpu.upload(host)) {
                    gpu.copy(stale.reshape(n, 3, planeH, planeW), out);   // padding must be written, not left
                }
                gpu.normalizePixels(deviceRgb, norm, out);
                try (Tensor back = gpu.download(out)) {
                    assertArrayEquals(expected.toFloatArray(), back.toFloatArray(), 0f);
                }
            }
        }
    }

    @Test
    void hostTensorsAndMisfitShapesAreRefused() {
        CudaBackend gpu = cuda();
        try (Tensor rgb = Tensor.allocate(DType.U8, 1, 4, 4, 3); Tensor deviceRgb = gpu.upload(rgb);
             Tensor small = gpu.allocate(DType.F32, 1, 3, 3, 4); Tensor out = gpu.allocate(DType.F32, 1, 3, 4, 4)) {
            assertThrows(RuntimeException.class, () -> gpu.normalizePixels(rgb, CLIP, out), "rgb on the host");
            assertThrows(TensorException.class, () -> gpu.normalizePixels(deviceRgb, CLIP, small), "a plane too small");
        }
    }

    private static Tensor filled(int count, float value) {
        float[] v = new float[count];
        java.util.Arrays.fill(v, value);
        return Tensor.of(v, count);
    }
}
