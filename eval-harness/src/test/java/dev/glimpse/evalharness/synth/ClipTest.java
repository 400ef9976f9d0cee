package dev.glimpse.evalharness.synth;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.DecodeOptions;
import dev.glimpse.videoingest.FrameIterator;
import dev.glimpse.videoingest.FrameSampler;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.VideoDecoder;
import dev.glimpse.videoingest.VideoSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SynthClips: ground truth invariants, questions, and the encoded mp4 as video-ingest decodes it. */
class ClipTest {

    private static final SynthBenchmark BENCH = SynthBenchmark.standard();

    @Test
    void tracksAreDistinctAndTheNeedleIsBrief() {
        for (int i = 0; i < 200; i++) {
            Clip clip = BENCH.clip(Split.TEST, i).clip();
            Set<ShapeKind> shapes = new HashSet<>();
            Set<ObjectColor> colors = new HashSet<>();
            Set<Integer> starts = new HashSet<>();
            for (Track t : clip.tracks()) {
                assertTrue(shapes.add(t.object().shape()) && colors.add(t.object().color())
                        && starts.add(t.firstFrame()), clip.id());
                assertTrue(t.lastFrame() < clip.frames());
            }
            Track needle = clip.needleTrack();
            assertTrue(needle.span() <= ClipGenerator.NEEDLE_MAX_SPAN && needle.firstFrame() > 0
                    && needle.lastFrame() < clip.frames() - 1, clip.id());
            clip.tracks().stream().filter(t -> t != needle)
                    .forEach(t -> assertTrue(t.span() >= ClipGenerator.MIN_SPAN, clip.id()));
            for (int f = 0; f < clip.frames(); f++) {
                List<SceneObject> visible = clip.visibleAt(f);
                for (int a = 0; a < visible.size(); a++) {
                    for (int b = a + 1; b < visible.size(); b++) {
                        assertTrue(!visible.get(a).box().intersects(visible.get(b).box(), 0), clip.id() + " frame " + f);
                    }
                }
            }
        }
    }

    @Test
    void answersFollowFromTheTracks() {
        for (int i = 0; i < 200; i++) {
            SynthItem.ClipItem item = BENCH.clip(Split.TEST, i);
            Clip clip = item.clip();
            for (SynthQuestion q : item.questions()) {
                String expected = switch (q.type()) {
                    case NEEDLE -> q.text().startsWith("What color was the ")
                            ? single(clip, t -> q.text().equals("What color was the " + t.object().shape().word() + "?"))
                                    .object().color().word()
                            : single(clip, t -> q.text().equals("What shape was the " + t.object().color().word()
                                    + " object?")).object().shape().word();
                    case TEMPORAL -> {
                        Track ref = single(clip, t -> q.text().equals("What appears after the " + t.object().phrase() + "?"));
                        yield clip.tracks().stream().filter(t -> t.firstFrame() > ref.firstFrame())
                                .min(Comparator.comparingInt(Track::firstFrame)).orElseThrow().object().shape().word();
                    }
                    case COUNT_OVER_TIME -> Integer.toString(clip.tracks().size());
                    default -> throw new AssertionError(q);
                };
                assertEquals(expected, q.answer(), q.id());
            }
            assertEquals(clip.needleTrack(), single(clip, t -> item.questions().getFirst().text().contains(" "
                    + t.object().shape().word() + "?") || item.questions().getFirst().text().contains(" "
                    + t.object().color().word() + " object?")));
        }
    }

    @Test
    void encodedClipDecodesToEveryFrameWithTheNeedleOnlyInItsFrames(@TempDir Path dir) throws Exception {
        Clip clip = BENCH.clip(Split.TEST, 0).clip();
        Path file = dir.resolve(clip.id() + ".mp4");
        ClipEncoder.write(clip, file);
        assertTrue(Files.size(file) < 300_000, "size " + Files.size(file));
        List<RgbImage> frames = new ArrayList<>();
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of(file), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator it = video.frames(new FrameSampler.UniformWithEndpoints(clip.frames()).plan(video.info()))) {
            while (it.hasNext()) {
                frames.add(it.next().image());
            }
        }
        assertEquals(clip.frames(), frames.size());
        Track needle = clip.needleTrack();
        int fill = needle.object().fill();
        for (int f = 0; f < clip.frames(); f++) {
            SceneObject at = needle.at(f).orElseGet(() -> needle.at(needle.firstFrame()).orElseThrow());
            int x = (int) at.centerX();
            int y = (int) at.centerY();
            double distance = colorDistance(frames.get(f), x, y, fill);
            if (needle.visibleAt(f)) {
                assertTrue(distance < 40, "frame " + f + ": needle missing, distance " + distance);
            } else {
                assertTrue(distance > 60, "frame " + f + ": needle visible outside its frames, distance " + distance);
            }
        }
    }

    private static double colorDistance(RgbImage image, int x, int y, int rgb) {
        double sum = 0;
        for (int c = 0; c < 3; c++) {
            double d = image.get(x, y, c) - (rgb >> (16 - 8 * c) & 0xFF);
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    private static Track single(Clip clip, Predicate<Track> p) {
        List<Track> matches = clip.tracks().stream().filter(p).toList();
        assertEquals(1, matches.size(), "ambiguous in " + clip.id());
        return matches.getFirst();
    }
}
