package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.ImageDecoder;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.VideoSource;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The GPU tests' own PNG decoding gives the product decoder's pixels for every fixture PNG. */
class PngFixturesTest {

    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16", "llava-siglip-qwen2", "llava-onevision-qwen2"})
    void pixelsEqualTheProductDecoder(String fixture) {
        List<Path> pngs = pngs(DecoderFixture.folder(fixture));
        assertFalse(pngs.isEmpty(), "no PNG in " + fixture);
        for (Path png : pngs) {
            RgbImage product = ImageDecoder.decode(VideoSource.of(png), MediaLimits.DEFAULTS);
            RgbImage ours = PngFixtures.decode(png);
            assertEquals(product.width(), ours.width(), png + " width");
            assertEquals(product.height(), ours.height(), png + " height");
            assertArrayEquals(product.pixels(), ours.pixels(), png + " pixels");
        }
    }

    private static List<Path> pngs(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
