package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Frames processed in parallel land in order, each exactly as it is processed alone. */
class OnevisionVideoProcessorTest {

    @Test
    void eachFrameOfAVideoIsProcessedAsItIsAlone(@TempDir Path folder) {
        OnevisionVideoProcessor processor = OnevisionVideoProcessor.load(folder);
        SplittableRandom random = new SplittableRandom(3);
        List<RgbImage> frames = IntStream.range(0, 7).mapToObj(i -> randomImage(48 + i, 40, random)).toList();
        try (Tensor video = processor.process(frames)) {
            assertArrayEquals(new int[] {7, 3, 384, 384}, video.shape());
            for (int f = 0; f < frames.size(); f++) {
                try (Tensor alone = processor.process(List.of(frames.get(f)))) {
                    assertArrayEquals(alone.select(0, 0).toFloatArray(), video.select(0, f).toFloatArray(), "frame " + f);
                }
            }
        }
    }

    private static RgbImage randomImage(int width, int height, SplittableRandom random) {
        byte[] pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) random.nextInt(256);
        }
        return new RgbImage(width, height, pixels);
    }
}
