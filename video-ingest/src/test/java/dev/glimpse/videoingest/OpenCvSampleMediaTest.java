package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Real-world media: the sample videos and photos of Debian's opencv-doc package (installed by CI,
 * {@code apt install opencv-doc}). Skipped, with a message, where the package is missing.
 */
class OpenCvSampleMediaTest {

    private static final Path DATA = Path.of("/usr/share/doc/opencv-doc/examples/data");

    private static Path sample(String name) {
        Path file = DATA.resolve(name);
        assumeTrue(Files.isReadable(file), "opencv-doc sample " + file + " is not installed (apt install opencv-doc)");
        return file;
    }

    private static List<Frame> sampleFrames(Path file, int n, DecodeSummary[] summary) {
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of(file), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(n).plan(video.info()))) {
            List<Frame> out = new java.util.ArrayList<>();
            frames.forEachRemaining(out::add);
            summary[0] = frames.summary();
            return out;
        }
    }

    @Test
    void vtestAviDecodes() {
        Path file = sample("vtest.avi");
        VideoInfo info = VideoProbe.probe(VideoSource.of(file), MediaLimits.DEFAULTS);
        assertEquals("msmpeg4v3", info.codec());
        assertEquals(768, info.width());
        assertEquals(576, info.height());
        assertEquals(795, info.frameCount());
        DecodeSummary[] summary = new DecodeSummary[1];
        List<Frame> frames = sampleFrames(file, 16, summary);
        assertEquals(16, frames.size());
        assertTimesIncrease(frames);
        assertEquals(794, frames.get(15).index());
    }

    @Test
    void megamindAviDecodes() {
        Path file = sample("Megamind.avi");
        DecodeSummary[] summary = new DecodeSummary[1];
        List<Frame> frames = sampleFrames(file, 8, summary);
        assertEquals(8, frames.size());
        assertEquals(720, frames.get(0).image().width());
        assertTimesIncrease(frames);
    }

    @Test
    void damagedMegamindReturnsItsDecodableFrames() {
        Path file = sample("Megamind_bugy.avi");
        DecodeSummary[] summary = new DecodeSummary[1];
        List<Frame> frames = sampleFrames(file, 32, summary);
        assertEquals(32, frames.size());
        assertTimesIncrease(frames);
        assertEquals(32, summary[0].framesReturned());
    }

    @ParameterizedTest
    @ValueSource(strings = {"baboon.jpg", "fruits.jpg", "HappyFish.jpg", "chicky_512.png", "graf1.png", "box.png"})
    void photosDecode(String name) {
        RgbImage img = ImageDecoder.decode(VideoSource.of(sample(name)), MediaLimits.DEFAULTS);
        assertTrue(img.width() > 0 && img.height() > 0);
        assertEquals(img.width() * img.height() * 3, img.pixels().length);
    }

    private static void assertTimesIncrease(List<Frame> frames) {
        for (int i = 1; i < frames.size(); i++) {
            assertTrue(frames.get(i).timestampSeconds() >= frames.get(i - 1).timestampSeconds());
        }
    }
}
