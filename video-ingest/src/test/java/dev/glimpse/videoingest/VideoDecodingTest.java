package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decodes videos generated with the frame-index pattern in several codecs and containers and
 * checks frame count, order, timestamps and pixels.
 */
class VideoDecodingTest {

    /** The generated videos: 90 frames at 30 fps unless said otherwise. */
    enum Kind {
        MP4_H264("mp4", "libopenh264", 96, 64),
        MKV_H264("matroska", "libopenh264", 96, 64),
        WEBM_VP9("webm", "libvpx-vp9", 80, 48),
        AVI_MJPEG("avi", "mjpeg", 96, 64),
        MOV_MPEG4("mov", "mpeg4", 96, 64);

        final TestVideos.Spec spec;

        Kind(String format, String codec, int w, int h) {
            this.spec = TestVideos.Spec.constant(format, codec, w, h, 30, 90);
        }
    }

    @TempDir
    static Path dir;

    @BeforeAll
    static void writeVideos() throws Exception {
        for (Kind k : Kind.values()) {
            TestVideos.write(file(k), k.spec);
        }
    }

    private static Path file(Kind k) {
        return dir.resolve(k.name().toLowerCase() + "." + (k.spec.format().equals("matroska") ? "mkv" : k.spec.format()));
    }

    private static List<Frame> decode(VideoSource source, FrameSampler sampler, DecodeOptions options) {
        try (VideoDecoder video = VideoDecoder.open(source, MediaLimits.DEFAULTS, options);
             Stream<Frame> frames = video.stream(sampler.plan(video.info()))) {
            return frames.toList();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void probeReportsSizeRateDurationAndFrameCount(Kind kind) {
        VideoInfo info = VideoProbe.probe(VideoSource.of(file(kind)), MediaLimits.DEFAULTS);
        assertEquals(kind.spec.width(), info.width());
        assertEquals(kind.spec.height(), info.height());
        assertEquals(30, info.fps(), 0.01);
        assertEquals(3.0, info.durationSeconds(), 0.05);
        assertEquals(90, info.frameCount());
        assertEquals(0, info.rotation());
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyFrameDecodesInOrderWithItsTimestampAndPattern(Kind kind) {
        List<Frame> frames = decode(VideoSource.of(file(kind)), new FrameSampler.FixedFps(30, 1000), DecodeOptions.DEFAULTS);
        assertEquals(90, frames.size());
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            assertEquals(i, TestVideos.readIndex(f.image()), kind + " frame " + i + " pattern");
            assertEquals(i, f.index());
            assertEquals(i / 30.0, f.timestampSeconds(), 1 / 30.0, kind + " frame " + i + " time");
            assertTrue(TestVideos.hasRedLeftBlueRight(f.image()), kind + " frame " + i + " is RGB");
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void seekingAndSequentialDecodingReturnTheSameFrames(Kind kind) {
        FrameSampler sampler = new FrameSampler.UniformWithoutEndpoints(5);
        List<Long> seeking = decode(VideoSource.of(file(kind)), sampler,
                DecodeOptions.DEFAULTS.withSeekMode(DecodeOptions.SeekMode.SEEK)).stream().map(Frame::index).toList();
        List<Long> sequential = decode(VideoSource.of(file(kind)), sampler,
                DecodeOptions.DEFAULTS.withSeekMode(DecodeOptions.SeekMode.SEQUENTIAL)).stream().map(Frame::index).toList();
        assertEquals(List.of(15L, 30L, 45L, 60L, 75L), seeking);
        assertEquals(seeking, sequential);
    }

    @Test
    void seekModeSeeksToKeyframesAndLandsOnTheExactFrame() throws Exception {
        Path longGop = TestVideos.write(dir.resolve("gop.mp4"),
                TestVideos.Spec.constant("mp4", "libopenh264", 64, 48, 30, 300).gop(30));
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of(longGop), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(4).plan(video.info()))) {
            List<Integer> patterns = new ArrayList<>();
            frames.forEachRemaining(f -> patterns.add(TestVideos.readIndex(f.image())));
            assertEquals(List.of(0, 99, 199, 299), patterns);
            DecodeSummary summary = frames.summary();
            assertEquals(3, summary.seeks());
            assertTrue(summary.framesDecoded() < 120, "decoded " + summary.framesDecoded() + " of 300 frames");
        }
    }

    @Test
    void uniformSamplerReturnsTheLinspaceFrames() {
        List<Frame> frames = decode(VideoSource.of(file(Kind.MP4_H264)), new FrameSampler.UniformWithEndpoints(8), DecodeOptions.DEFAULTS);
        List<Integer> patterns = frames.stream().map(f -> TestVideos.readIndex(f.image())).toList();
        assertEquals(List.of(0, 12, 25, 38, 50, 63, 76, 89), patterns);
    }

    @Test
    void inMemoryBytesDecodeLikeTheFile() throws Exception {
        byte[] bytes = Files.readAllBytes(file(Kind.MP4_H264));
        FrameSampler sampler = new FrameSampler.UniformWithEndpoints(6);
        List<Frame> fromFile = decode(VideoSource.of(file(Kind.MP4_H264)), sampler, DecodeOptions.DEFAULTS);
        List<Frame> fromBytes = decode(VideoSource.of("upload.mp4", bytes), sampler, DecodeOptions.DEFAULTS);
        assertEquals(fromFile.size(), fromBytes.size());
        for (int i = 0; i < fromFile.size(); i++) {
            assertEquals(fromFile.get(i).timestampSeconds(), fromBytes.get(i).timestampSeconds());
            assertTrue(java.util.Arrays.equals(fromFile.get(i).image().pixels(), fromBytes.get(i).image().pixels()));
        }
    }

    @Test
    void maxSideScalesAtDecodeTimeKeepingAspect() {
        List<Frame> frames = decode(VideoSource.of(file(Kind.MP4_H264)), new FrameSampler.UniformWithEndpoints(3),
                DecodeOptions.DEFAULTS.withMaxSide(48));
        for (Frame f : frames) {
            assertEquals(48, f.image().width());
            assertEquals(32, f.image().height());
        }
        assertEquals(89, TestVideos.readIndex(frames.get(2).image()));
    }

    @Test
    void oddFrameSizesDecodeExactly() throws Exception {
        Path odd = TestVideos.write(dir.resolve("odd.webm"), TestVideos.Spec.constant("webm", "libvpx-vp9", 97, 61, 30, 30));
        VideoInfo info = VideoProbe.probe(VideoSource.of(odd), MediaLimits.DEFAULTS);
        List<Frame> frames = decode(VideoSource.of(odd), new FrameSampler.UniformWithEndpoints(3), DecodeOptions.DEFAULTS);
        assertEquals(info.width(), frames.get(0).image().width());
        assertEquals(info.height(), frames.get(0).image().height());
        assertEquals(List.of(0, 14, 29), frames.stream().map(f -> TestVideos.readIndex(f.image())).toList());
    }

    @Test
    void rotationMetadataTurnsFramesUpright() throws Exception {
        // the recorder's angle is counter-clockwise, like FFmpeg's display matrix: 90 ccw = 270 cw
        Path rotated = TestVideos.write(dir.resolve("rotated.mp4"),
                TestVideos.Spec.constant("mp4", "libopenh264", 96, 64, 30, 30).rotated(90));
        VideoInfo info = VideoProbe.probe(VideoSource.of(rotated), MediaLimits.DEFAULTS);
        assertEquals(270, info.rotation());
        assertEquals(64, info.displayWidth());
        List<Frame> upright = decode(VideoSource.of(rotated), new FrameSampler.Timestamps(List.of(0.5)), DecodeOptions.DEFAULTS);
        RgbImage image = upright.get(0).image();
        assertEquals(64, image.width());
        assertEquals(96, image.height());
        assertEquals(15, TestVideos.readIndex(image.rotatedClockwise(90)));
        List<Frame> raw = decode(VideoSource.of(rotated), new FrameSampler.Timestamps(List.of(0.5)),
                DecodeOptions.DEFAULTS.withAutoRotate(false));
        assertEquals(96, raw.get(0).image().width());
        assertEquals(15, TestVideos.readIndex(raw.get(0).image()));
    }

    @Test
    void variableFrameRateKeepsTrueTimestamps() throws Exception {
        long[] numbers = {0, 1, 2, 5, 6, 12, 13, 14, 20, 30, 31, 45};
        Path vfr = TestVideos.write(dir.resolve("vfr.mkv"), new TestVideos.Spec("matroska", "libopenh264", 64, 48, 30, numbers, 0, 12));
        List<Double> times = new ArrayList<>();
        for (long n : numbers) {
            times.add(n / 30.0);
        }
        List<Frame> frames = decode(VideoSource.of(vfr), new FrameSampler.Timestamps(times), DecodeOptions.DEFAULTS);
        assertEquals(numbers.length, frames.size());
        for (int i = 0; i < numbers.length; i++) {
            assertEquals(i, TestVideos.readIndex(frames.get(i).image()), "frame written " + i);
            assertEquals(numbers[i] / 30.0, frames.get(i).timestampSeconds(), 1 / 30.0);
        }
    }

    @Test
    void aDecoderCanRunASecondPlanFromTheStart() {
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of(file(Kind.MKV_H264)), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS)) {
            FrameIterator first = video.frames(new FrameSampler.Timestamps(List.of(2.5)).plan(video.info()));
            assertEquals(75, TestVideos.readIndex(first.next().image()));
            FrameIterator second = video.frames(new FrameSampler.Timestamps(List.of(0.0)).plan(video.info()));
            assertEquals(0, TestVideos.readIndex(second.next().image()));
            assertFalse(second.hasNext());
        }
    }

    @Test
    void cleanVideoReportsNoDamage() {
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of(file(Kind.AVI_MJPEG)), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(10).plan(video.info()))) {
            frames.forEachRemaining(f -> { });
            assertFalse(frames.summary().damaged());
            assertEquals(10, frames.summary().framesReturned());
        }
    }
}
