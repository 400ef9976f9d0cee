package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.bytedeco.javacv.FFmpegFrameRecorder;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ420P;

/**
 * Writes test videos through the FFmpeg library (no command-line tool needed). Every frame carries
 * its own index as a pattern: the top half holds {@value #BITS} blocks, white for a 1 bit and black
 * for a 0 bit (least significant bit on the left); the bottom half is pure red on the left and pure
 * blue on the right, which tells RGB from BGR.
 */
final class TestVideos {

    static final int BITS = 10;

    /**
     * What to write.
     *
     * @param format      container (mp4, matroska, webm, avi, mov)
     * @param codec       encoder name (libopenh264, libvpx-vp9, mjpeg, mpeg4)
     * @param frameNumbers presentation times in units of 1/fps, one per frame (gaps make variable frame rate)
     */
    record Spec(String format, String codec, int width, int height, double fps, long[] frameNumbers,
                int rotation, int gop) {

        static Spec constant(String format, String codec, int width, int height, double fps, int frames) {
            long[] numbers = new long[frames];
            for (int i = 0; i < frames; i++) {
                numbers[i] = i;
            }
            return new Spec(format, codec, width, height, fps, numbers, 0, 12);
        }

        Spec rotated(int degrees) {
            return new Spec(format, codec, width, height, fps, frameNumbers, degrees, gop);
        }

        Spec gop(int size) {
            return new Spec(format, codec, width, height, fps, frameNumbers, rotation, size);
        }

        int frames() {
            return frameNumbers.length;
        }
    }

    static {
        org.bytedeco.ffmpeg.global.avutil.av_log_set_level(org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET);
    }

    private TestVideos() {
    }

    static Path write(Path file, Spec spec) throws Exception {
        try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(file.toFile(), spec.width(), spec.height(), 0)) {
            r.setFormat(spec.format());
            r.setVideoCodecName(spec.codec());
            r.setFrameRate(spec.fps());
            r.setGopSize(spec.gop());
            switch (spec.codec()) {
                case "mjpeg" -> {
                    r.setPixelFormat(AV_PIX_FMT_YUVJ420P);
                    r.setVideoQuality(2);
                }
                case "libvpx-vp9" -> {
                    r.setPixelFormat(AV_PIX_FMT_YUV420P);
                    r.setVideoOption("crf", "10");
                    r.setVideoOption("deadline", "realtime");
                    r.setVideoOption("cpu-used", "8");
                    r.setVideoBitrate(0);
                }
                case "mpeg4" -> {
                    r.setPixelFormat(AV_PIX_FMT_YUV420P);
                    r.setVideoQuality(2);
                }
                default -> {
                    r.setPixelFormat(AV_PIX_FMT_YUV420P);
                    r.setVideoBitrate(Math.max(400_000, spec.width() * spec.height() * 60));
                }
            }
            if (spec.rotation() != 0) {
                r.setDisplayRotation(spec.rotation());
            }
            r.start();
            org.bytedeco.javacv.Frame frame = new org.bytedeco.javacv.Frame(spec.width(), spec.height(),
                    org.bytedeco.javacv.Frame.DEPTH_UBYTE, 3);
            for (int i = 0; i < spec.frames(); i++) {
                fill(frame, i);
                r.setTimestamp(Math.round(spec.frameNumbers()[i] * 1_000_000 / spec.fps()));
                r.record(frame, AV_PIX_FMT_RGB24);
            }
            r.stop();
        }
        return file;
    }

    /** Draws the pattern of frame {@code index} into an RGB frame. */
    static void fill(org.bytedeco.javacv.Frame frame, int index) {
        ByteBuffer buf = (ByteBuffer) frame.image[0];
        int w = frame.imageWidth;
        int h = frame.imageHeight;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] rgb = patternColor(index, x, y, w, h);
                int at = y * frame.imageStride + x * 3;
                buf.put(at, (byte) rgb[0]).put(at + 1, (byte) rgb[1]).put(at + 2, (byte) rgb[2]);
            }
        }
    }

    static int[] patternColor(int index, int x, int y, int w, int h) {
        if (y < h / 2) {
            int bit = Math.min(BITS - 1, x * BITS / w);
            int v = ((index >> bit) & 1) == 1 ? 255 : 0;
            return new int[] {v, v, v};
        }
        return x < w / 2 ? new int[] {255, 0, 0} : new int[] {0, 0, 255};
    }

    /** Reads the index pattern back from an upright decoded frame. */
    static int readIndex(RgbImage image) {
        int w = image.width();
        int h = image.height();
        int index = 0;
        for (int bit = 0; bit < BITS; bit++) {
            int x = (int) ((bit + 0.5) * w / BITS);
            int y = h / 4;
            if (image.get(x, y, 1) > 128) {
                index |= 1 << bit;
            }
        }
        return index;
    }

    /** Whether the bottom half is red on the left and blue on the right (RGB order, not BGR). */
    static boolean hasRedLeftBlueRight(RgbImage image) {
        int y = image.height() * 3 / 4;
        int xl = image.width() / 4;
        int xr = image.width() * 3 / 4;
        return image.get(xl, y, 0) > 180 && image.get(xl, y, 2) < 80
                && image.get(xr, y, 2) > 180 && image.get(xr, y, 0) < 80;
    }
}
