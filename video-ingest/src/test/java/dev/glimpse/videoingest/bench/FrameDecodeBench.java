package dev.glimpse.videoingest.bench;

import dev.glimpse.videoingest.DecodeOptions;
import dev.glimpse.videoingest.DecodeSummary;
import dev.glimpse.videoingest.FrameIterator;
import dev.glimpse.videoingest.FrameSampler;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.SamplePlan;
import dev.glimpse.videoingest.SampleTarget;
import dev.glimpse.videoingest.VideoDecoder;
import dev.glimpse.videoingest.VideoSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Frames per second for sampling 32 frames (lmms-eval uniform) from a 10-minute 720p H.264 video,
 * Glimpse against the {@code ffmpeg} command-line tool doing the same selection in the same run:
 * one accurate input seek per frame ({@code -ss T -i F -frames:v 1}, the fastest fair equivalent),
 * and, with {@code --with-select}, a single pass with a {@code select} filter. Output is RGB24 in
 * every case. Prints one JSON line.
 *
 * <p>Usage: {@code FrameDecodeBench [--ffmpeg PATH] [--video FILE] [--runs N] [--with-select]}. The
 * video is generated with {@code ffmpeg} (libx264, GOP 250) on first use and cached.
 */
public final class FrameDecodeBench {

    private FrameDecodeBench() {
    }

    public static void main(String[] args) throws Exception {
        String ffmpeg = "ffmpeg";
        Path video = Path.of(System.getProperty("java.io.tmpdir"), "glimpse-bench", "h264-720p-10min.mp4");
        int runs = 3;
        boolean withSelect = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ffmpeg" -> ffmpeg = args[++i];
                case "--video" -> video = Path.of(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--with-select" -> withSelect = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (!Files.exists(video)) {
            generate(ffmpeg, video);
        }
        SamplePlan plan;
        try (VideoDecoder decoder = VideoDecoder.open(VideoSource.of(video), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS)) {
            plan = new FrameSampler.UniformWithEndpoints(32).plan(decoder.info());
        }
        double glimpse = Double.MAX_VALUE;
        double ffmpegSeek = Double.MAX_VALUE;
        DecodeSummary summary = null;
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            summary = glimpse(video, plan);
            glimpse = Math.min(glimpse, (System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            ffmpegSeekPerFrame(ffmpeg, video, plan);
            ffmpegSeek = Math.min(ffmpegSeek, (System.nanoTime() - t0) / 1e9);
        }
        String select = "";
        if (withSelect) {
            long t0 = System.nanoTime();
            ffmpegSelect(ffmpeg, video, plan);
            double s = (System.nanoTime() - t0) / 1e9;
            select = String.format(Locale.ROOT, ", \"ffmpeg_select_s\": %.3f, \"ffmpeg_select_fps\": %.2f", s, 32 / s);
        }
        System.out.printf(Locale.ROOT, "{\"bench\": \"frame-decode\", \"video\": \"%s\", \"frames\": %d, \"runs\": %d, "
                        + "\"glimpse_s\": %.3f, \"glimpse_fps\": %.2f, \"glimpse_frames_decoded\": %d, \"glimpse_seeks\": %d, "
                        + "\"ffmpeg_seek_s\": %.3f, \"ffmpeg_seek_fps\": %.2f, \"ratio_glimpse_over_ffmpeg_seek\": %.2f%s}%n",
                video.getFileName(), plan.size(), runs, glimpse, plan.size() / glimpse, summary.framesDecoded(), summary.seeks(),
                ffmpegSeek, plan.size() / ffmpegSeek, ffmpegSeek / glimpse, select);
    }

    private static DecodeSummary glimpse(Path video, SamplePlan plan) {
        try (VideoDecoder decoder = VideoDecoder.open(VideoSource.of(video), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
             FrameIterator frames = decoder.frames(plan)) {
            while (frames.hasNext()) {
                frames.next();
            }
            return frames.summary();
        }
    }

    private static void ffmpegSeekPerFrame(String ffmpeg, Path video, SamplePlan plan) throws Exception {
        for (SampleTarget t : plan.targets()) {
            run(List.of(ffmpeg, "-v", "error", "-ss", String.format(Locale.ROOT, "%.6f", t.seconds()), "-i", video.toString(),
                    "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"));
        }
    }

    private static void ffmpegSelect(String ffmpeg, Path video, SamplePlan plan) throws Exception {
        String expr = plan.targets().stream().map(t -> "eq(n\\," + t.index() + ")").collect(Collectors.joining("+"));
        run(List.of(ffmpeg, "-v", "error", "-i", video.toString(), "-vf", "select='" + expr + "'", "-fps_mode", "passthrough",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"));
    }

    private static void generate(String ffmpeg, Path video) throws Exception {
        Files.createDirectories(video.getParent());
        Path partial = video.resolveSibling(video.getFileName() + ".part.mp4");
        run(List.of(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=600",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p", "-y", partial.toString()));
        Files.move(partial, video);
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("failed: " + String.join(" ", command) + "\n" + log);
        }
    }
}
