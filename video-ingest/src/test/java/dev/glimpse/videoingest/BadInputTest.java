package dev.glimpse.videoingest;

import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of bad input gives a typed error with a clear message, or frames plus a damage count. */
class BadInputTest {

    @TempDir
    static Path dir;
    static Path mp4;
    static Path mjpeg;

    @BeforeAll
    static void writeVideos() throws Exception {
        mp4 = TestVideos.write(dir.resolve("ok.mp4"), TestVideos.Spec.constant("mp4", "libopenh264", 64, 48, 30, 90));
        mjpeg = TestVideos.write(dir.resolve("ok.avi"), TestVideos.Spec.constant("avi", "mjpeg", 64, 48, 30, 90));
    }

    private static List<Frame> decodeAll(VideoSource source, MediaLimits limits, FrameSampler sampler) {
        try (VideoDecoder video = VideoDecoder.open(source, limits, DecodeOptions.DEFAULTS)) {
            return video.stream(sampler.plan(video.info())).toList();
        }
    }

    private static <T extends MediaException> T failsWith(Class<T> type, VideoSource source) {
        return assertThrows(type, () -> decodeAll(source, MediaLimits.DEFAULTS, new FrameSampler.UniformWithEndpoints(4)));
    }

    @Test
    void emptyFileIsCorrupt() throws Exception {
        Path empty = Files.createFile(dir.resolve("empty.mp4"));
        assertEquals(empty + ": the file is empty", failsWith(CorruptMediaException.class, VideoSource.of(empty)).getMessage());
    }

    @Test
    void missingFileIsUnreadable() {
        Path missing = dir.resolve("missing.mp4");
        assertEquals(missing + ": no such file", failsWith(UnreadableMediaException.class, VideoSource.of(missing)).getMessage());
    }

    @Test
    void garbageBytesAreCorrupt() {
        byte[] garbage = new byte[100_000];
        new Random(7).nextBytes(garbage);
        CorruptMediaException e = failsWith(CorruptMediaException.class, VideoSource.of("garbage.bin", garbage));
        assertTrue(e.getMessage().startsWith("garbage.bin: not a readable video"), e.getMessage());
    }

    @Test
    void mp4CutBeforeItsIndexIsCorrupt() throws Exception {
        byte[] bytes = Files.readAllBytes(mp4);
        CorruptMediaException e = failsWith(CorruptMediaException.class,
                VideoSource.of("cut.mp4", Arrays.copyOf(bytes, bytes.length / 2)));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedMjpegReturnsTheFramesItHas() throws Exception {
        byte[] bytes = Files.readAllBytes(mjpeg);
        VideoSource cut = VideoSource.of("cut.avi", Arrays.copyOf(bytes, bytes.length / 2));
        try (VideoDecoder video = VideoDecoder.open(cut, MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(4).plan(video.info()))) {
            int last = -1;
            while (frames.hasNext()) {
                int index = TestVideos.readIndex(frames.next().image());
                assertTrue(index >= last);
                last = index;
            }
            assertTrue(last > 20 && last < 89, "last decodable frame " + last);
            assertTrue(frames.summary().targetsPastEnd() > 0);
        }
    }

    @Test
    void damagedFramesAreSkippedAndCounted() throws Exception {
        byte[] bytes = Files.readAllBytes(mjpeg);
        int damaged = 0;
        for (int i = 0, soi = 0; i + 2 < bytes.length && damaged < 5; i++) {
            if ((bytes[i] & 0xFF) == 0xFF && (bytes[i + 1] & 0xFF) == 0xD8 && (bytes[i + 2] & 0xFF) == 0xFF) {
                if (soi++ >= 40) {
                    Arrays.fill(bytes, i, i + 200, (byte) 0);
                    damaged++;
                }
            }
        }
        try (VideoDecoder video = VideoDecoder.open(VideoSource.of("damaged.avi", bytes), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = video.frames(new FrameSampler.FixedFps(30, 1000).plan(video.info()))) {
            int returned = 0;
            while (frames.hasNext()) {
                frames.next();
                returned++;
            }
            assertEquals(90, returned);
            assertEquals(5, frames.summary().decodeErrors());
            assertTrue(frames.summary().damaged());
        }
    }

    @Test
    void videoWithoutFramesIsCorrupt() throws Exception {
        Path zero = dir.resolve("zero.mp4");
        try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(zero.toFile(), 64, 48, 0)) {
            r.setFormat("mp4");
            r.setVideoCodecName("mpeg4");
            r.setFrameRate(30);
            r.start();
            r.stop();
        }
        CorruptMediaException e = failsWith(CorruptMediaException.class, VideoSource.of(zero));
        assertTrue(e.getMessage().contains("no frames") || e.getMessage().contains("no streams"), e.getMessage());
    }

    @Test
    void audioOnlyFileIsUnsupported() throws Exception {
        Path wav = dir.resolve("tone.wav");
        try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(wav.toFile(), 1)) {
            r.setFormat("wav");
            r.setSampleRate(8000);
            r.start();
            short[] samples = new short[8000];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = (short) (8000 * Math.sin(i * 0.3));
            }
            r.recordSamples(ShortBuffer.wrap(samples));
            r.stop();
        }
        UnsupportedMediaException e = failsWith(UnsupportedMediaException.class, VideoSource.of(wav));
        assertEquals(wav + ": no video stream (audio-only or data-only wav file)", e.getMessage());
    }

    @Test
    void hugeFrameSizeIsRefusedBeforeDecodingAndNamesTheFlag() {
        byte[] y4m = "YUV4MPEG2 W8000 H8000 F30:1 Ip A1:1 C420jpeg\nFRAME\n".getBytes(StandardCharsets.US_ASCII);
        MediaLimitExceededException e = failsWith(MediaLimitExceededException.class,
                VideoSource.of("bomb.y4m", Arrays.copyOf(y4m, y4m.length + 4096)));
        assertEquals(MediaLimits.Limit.PIXELS_PER_FRAME, e.limit());
        assertEquals("bomb.y4m: frame size 8000x8000 (64000000 pixels) exceeds the limit of 33177600 pixels"
                + " (raise it with --max-pixels)", e.getMessage());
    }

    @Test
    void fileSizeLimitNamesTheFlag() {
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class,
                () -> decodeAll(VideoSource.of(mp4), MediaLimits.DEFAULTS.withMaxFileBytes(1000), new FrameSampler.UniformWithEndpoints(4)));
        assertEquals(MediaLimits.Limit.FILE_BYTES, e.limit());
        assertTrue(e.getMessage().endsWith("exceeds the limit of 1000 bytes (raise it with --max-file-bytes)"), e.getMessage());
    }

    @Test
    void frameCountLimitNamesTheFlag() {
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class,
                () -> decodeAll(VideoSource.of(mp4), MediaLimits.DEFAULTS.withMaxFrames(4), new FrameSampler.UniformWithEndpoints(8)));
        assertEquals(mp4 + ": number of requested frames 8 exceeds the limit of 4 (raise it with --max-frames)", e.getMessage());
    }

    @Test
    void durationLimitNamesTheFlag() {
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class,
                () -> decodeAll(VideoSource.of(mp4), MediaLimits.DEFAULTS.withMaxDuration(Duration.ofSeconds(1)), new FrameSampler.UniformWithEndpoints(4)));
        assertEquals(mp4 + ": duration 3.0 s exceeds the limit of 1 s (raise it with --max-duration-seconds)", e.getMessage());
    }

    @Test
    void decodingStopsAtTheTimeLimit() {
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class,
                () -> decodeAll(VideoSource.of(mp4), MediaLimits.DEFAULTS.withMaxDecodeTime(Duration.ofNanos(1)), new FrameSampler.UniformWithEndpoints(4)));
        assertEquals(MediaLimits.Limit.DECODE_TIME, e.limit());
        assertTrue(e.getMessage().contains("--decode-timeout-seconds"), e.getMessage());
    }

    @Test
    void streamsAreReadOnlyUpToTheLimit() {
        java.io.InputStream endless = new java.io.InputStream() {
            @Override
            public int read() {
                return 0;
            }
        };
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class,
                () -> VideoSource.of("upload", endless, MediaLimits.DEFAULTS.withMaxFileBytes(10_000)));
        assertEquals(MediaLimits.Limit.FILE_BYTES, e.limit());
    }
}
