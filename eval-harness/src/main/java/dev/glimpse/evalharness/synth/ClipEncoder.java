package dev.glimpse.evalharness.synth;

import dev.glimpse.kernels.image.RgbImage;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;

/**
 * Renders a clip's frames and encodes them as an H.264 mp4 (OpenH264 through FFmpeg's library,
 * yuv420p, constant frame rate, one keyframe every {@value #GOP} frames, a bitrate target of
 * {@value #BITS_PER_PIXEL} bits per pixel per second; OpenH264 spends far less on these mostly
 * static frames: 16 frames of 224 x 224 take about 5 to 30 KB).
 */
public final class ClipEncoder {

    public static final String CODEC = "libopenh264";
    private static final int GOP = 8;
    private static final int BITS_PER_PIXEL = 10;

    static {
        avutil.av_log_set_level(avutil.AV_LOG_QUIET);
    }

    private ClipEncoder() {
    }

    /** Every frame of {@code clip}, as drawn (before compression). */
    public static List<RgbImage> frames(Clip clip) {
        BufferedImage background = SceneRenderer.background(clip.background(), clip.width(), clip.height());
        List<RgbImage> out = new ArrayList<>();
        for (int f = 0; f < clip.frames(); f++) {
            out.add(SceneRenderer.toRgb(frame(background, clip, f)));
        }
        return out;
    }

    /**
     * Writes {@code clip} to {@code file} (an mp4), atomically: a partly written file never
     * appears under that name.
     */
    public static void write(Clip clip, Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".part.mp4");
        try {
            encode(clip, tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void encode(Clip clip, Path file) throws IOException {
        BufferedImage background = SceneRenderer.background(clip.background(), clip.width(), clip.height());
        try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(file.toFile(), clip.width(), clip.height(), 0)) {
            r.setFormat("mp4");
            r.setVideoCodecName(CODEC);
            r.setFrameRate(clip.fps());
            r.setGopSize(GOP);
            r.setPixelFormat(AV_PIX_FMT_YUV420P);
            r.setVideoBitrate(clip.width() * clip.height() * BITS_PER_PIXEL);
            r.start();
            Frame frame = new Frame(clip.width(), clip.height(), Frame.DEPTH_UBYTE, 3);
            ByteBuffer buf = (ByteBuffer) frame.image[0];
            for (int f = 0; f < clip.frames(); f++) {
                byte[] rgb = SceneRenderer.toRgb(frame(background, clip, f)).pixels();
                for (int y = 0; y < clip.height(); y++) {
                    buf.put(y * frame.imageStride, rgb, y * clip.width() * 3, clip.width() * 3);
                }
                r.setTimestamp(Math.round(f * 1_000_000 / clip.fps()));
                r.record(frame, AV_PIX_FMT_RGB24);
            }
            r.stop();
        } catch (FFmpegFrameRecorder.Exception e) {
            throw new IOException(file + ": H.264 encoding failed: " + e.getMessage(), e);
        }
    }

    private static BufferedImage frame(BufferedImage background, Clip clip, int f) {
        BufferedImage image = SceneRenderer.copy(background);
        SceneRenderer.drawObjects(image, clip.visibleAt(f));
        return image;
    }
}
