package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import dev.glimpse.kernels.image.PixelNormalization;
import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link StandardImageProcessor#prepare} then {@link PixelNormalization#writeHost} (what a GPU backend's
 * {@code normalizePixels} reproduces) gives {@link StandardImageProcessor#process}'s pixel_values bit for bit,
 * for the committed CLIP and SigLIP configs (resize up and down, center crop, no crop); the padding is zero.
 */
class PreparedPixelsTest {

    private static final List<int[]> SIZES = List.of(new int[] {336, 336}, new int[] {500, 375}, new int[] {97, 203});

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"clip32", "clip336", "clip336_legacy", "clip40_bilinear_nocrop", "siglip384"})
    void preparedBytesNormalizeToTheProcessedValues(String name) {
        ImageProcessorConfig config = ImageProcessorConfig.load(PreprocessFixtures.dir().resolve("configs").resolve(name));
        StandardImageProcessor processor = (StandardImageProcessor) ImageProcessor.of(config);
        int seed = 1;
        for (int[] size : SIZES) {
            RgbImage image = PreprocessFixtures.synthetic(size[0], size[1], seed++, "photo");
            assertSame(processor, image, name + " " + size[0] + "x" + size[1]);
        }
    }

    @Test
    void paddingIsZeroBelowAndRightOfTheImage() {
        PixelNormalization norm = new PixelNormalization(true, 1.0 / 255, true, new float[] {0.5f, 0.4f, 0.3f},
                new float[] {0.2f, 0.25f, 0.3f});
        try (Tensor rgb = Tensor.allocate(DType.U8, 1, 2, 3, 3); Tensor out = Tensor.allocate(DType.F32, 1, 3, 4, 5)) {
            byte[] bytes = new byte[18];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 13);
            }
            MemorySegment.copy(bytes, 0, rgb.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
            float[] filled = new float[60];   // stale values where the padding goes
            java.util.Arrays.fill(filled, 9f);
            out.copyFrom(filled);
            norm.writeHost(rgb, out);
            float[] v = out.toFloatArray();
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 4; y++) {
                    for (int x = 0; x < 5; x++) {
                        float expected = y < 2 && x < 3 ? norm.value(bytes[(y * 3 + x) * 3 + c] & 0xFF, c) : 0f;
                        assertEquals(expected, v[(c * 4 + y) * 5 + x], "c " + c + " y " + y + " x " + x);
                    }
                }
            }
        }
    }

    @Test
    void shapesThatDoNotFitAreRefused() {
        PixelNormalization norm = new PixelNormalization(false, 1, false, new float[3], new float[] {1, 1, 1});
        try (Tensor rgb = Tensor.allocate(DType.U8, 1, 4, 4, 3); Tensor small = Tensor.allocate(DType.F32, 1, 3, 3, 4);
             Tensor f32 = Tensor.allocate(DType.F32, 1, 4, 4, 3)) {
            assertThrows(TensorException.class, () -> norm.writeHost(rgb, small), "a plane smaller than the image");
            assertThrows(TensorException.class, () -> norm.writeHost(f32, small), "rgb must be U8");
        }
    }

    private static void assertSame(StandardImageProcessor processor, RgbImage image, String what) {
        StandardImageProcessor.PreparedImage prepared = processor.prepare(image);
        RgbImage px = prepared.pixels();
        try (ProcessedImage expected = processor.process(image);
             Tensor rgb = Tensor.allocate(DType.U8, 1, px.height(), px.width(), 3);
             Tensor out = Tensor.allocate(DType.F32, 1, 3, prepared.planeHeight(), prepared.planeWidth())) {
            MemorySegment.copy(px.pixels(), 0, rgb.segment(), ValueLayout.JAVA_BYTE, 0, px.pixels().length);
            processor.normalization().writeHost(rgb, out);
            assertArrayEquals(expected.pixelValues().shape(), new int[] {3, prepared.planeHeight(), prepared.planeWidth()},
                    what + ": plane");
            assertArrayEquals(expected.pixelValues().toFloatArray(), out.toFloatArray(), 0f, what + ": pixel_values");
            assertEquals(expected.imageSize(), prepared.imageSize(), what + ": image size");
        }
    }
}
