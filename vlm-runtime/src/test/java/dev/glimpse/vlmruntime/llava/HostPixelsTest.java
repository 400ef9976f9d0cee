package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.visionencoder.preprocess.ImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessorConfig;
import dev.glimpse.visionencoder.preprocess.ProcessedImage;
import dev.glimpse.visionencoder.preprocess.StandardImageProcessor;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HostPixels} on the CPU backend (whose {@code normalizePixels} is {@code PixelNormalization#writeHost}): the
 * 8-bit path's pixel values are the image processor's, image by image, bit for bit, for the committed CLIP and
 * SigLIP processor configs; the F32 path hands its values through; the 8-bit path has no host values to give;
 * the image processing ends when the staging tensor is full. (The GPU's normalization: CudaDevicePixelsTest.)
 */
class HostPixelsTest {

    private static StandardImageProcessor processor(String config) {
        return (StandardImageProcessor) ImageProcessor.of(
                ImageProcessorConfig.load(DecoderFixture.folder("preprocess").resolve("configs").resolve(config)));
    }

    private static RgbImage image(int width, int height, long seed) {
        byte[] rgb = new byte[width * height * 3];
        new Random(seed).nextBytes(rgb);
        return new RgbImage(width, height, rgb);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"clip336", "siglip384", "clip40_bilinear_nocrop"})
    void bytesNormalizedOnTheBackendAreTheProcessedValues(String config) {
        StandardImageProcessor processor = processor(config);
        List<RgbImage> images = List.of(image(120, 90, 1), image(120, 90, 2), image(120, 90, 3));
        List<StandardImageProcessor.PreparedImage> prepared = images.stream().map(processor::prepare).toList();
        try (CpuBackend cpu = new CpuBackend();
             HostPixels host = HostPixels.bytes(cpu, prepared, processor.normalization());
             Tensor pixels = host.toBackend(cpu)) {
            for (int i = 0; i < images.size(); i++) {
                try (ProcessedImage expected = processor.process(images.get(i))) {
                    assertArrayEquals(expected.pixelValues().toFloatArray(), pixels.select(0, i).toFloatArray(), 0f,
                            config + " image " + i);
                }
            }
        }
    }

    @Test
    void valuesPassThroughAndBytesHaveNoHostValues() {
        StandardImageProcessor processor = processor("clip336");
        RgbImage image = image(64, 48, 4);
        long before = System.nanoTime();
        try (CpuBackend cpu = new CpuBackend(); ProcessedImage processed = processor.process(image);
             Tensor copy = Tensor.of(processed.pixelValues().toFloatArray(), 1, 3, processed.pixelValues().dim(1),
                     processed.pixelValues().dim(2));
             HostPixels values = HostPixels.values(copy);
             Tensor onBackend = values.toBackend(cpu);
             HostPixels bytes = HostPixels.bytes(cpu, List.of(processor.prepare(image)), processor.normalization())) {
            assertTrue(values.readyNanos() >= before, "ready after it was made");
            assertArrayEquals(processed.pixelValues().toFloatArray(), values.values().toFloatArray(), 0f);
            assertArrayEquals(processed.pixelValues().toFloatArray(), onBackend.toFloatArray(), 0f);
            assertThrows(IllegalStateException.class, bytes::values);
        }
    }
}
