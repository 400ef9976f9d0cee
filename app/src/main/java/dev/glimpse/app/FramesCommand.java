package dev.glimpse.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.DecodeOptions;
import dev.glimpse.videoingest.DecodeSummary;
import dev.glimpse.videoingest.Frame;
import dev.glimpse.videoingest.FrameIterator;
import dev.glimpse.videoingest.FrameSampler;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.SamplePlan;
import dev.glimpse.videoingest.VideoDecoder;
import dev.glimpse.videoingest.VideoInfo;
import dev.glimpse.videoingest.VideoSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code glimpse frames}: samples frames from a video and writes them as {@code frame_0000.png}...
 * plus {@code frames.json} (each frame's index, timestamp and file; the sampler; the video's
 * properties; damage counts).
 */
@Command(name = "frames",
        mixinStandardHelpOptions = true,
        description = "Sample frames from a video; write PNGs and frames.json (index, timestamp, file, sampler).")
final class FramesCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(FramesCommand.class);

    @Option(names = "--video", required = true, paramLabel = "FILE", description = "The video file.")
    Path video;

    @Option(names = "--frames", defaultValue = "8", paramLabel = "N",
            description = "Frames to sample (for fps:X, the most frames). Default: ${DEFAULT-VALUE}.")
    int frames;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (created if missing).")
    Path out;

    @Option(names = "--sampler", defaultValue = "uniform", paramLabel = "S",
            description = "uniform (lmms-eval, with endpoints), uniform-no-endpoints (VLMEvalKit), fps:X, "
                    + "timestamps:a,b,c (seconds) or quota (96 + 64/hour). Default: ${DEFAULT-VALUE}.")
    String sampler;

    @Option(names = "--max-side", defaultValue = "0", paramLabel = "PX",
            description = "Scale frames so the longest side is at most PX (0: original size).")
    int maxSide;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "Decoder threads (0: automatic).")
    int threads;

    @Option(names = MediaLimits.FLAG_MAX_FILE_BYTES, paramLabel = "BYTES", description = "Largest accepted video file.")
    Long maxFileBytes;

    @Option(names = MediaLimits.FLAG_MAX_PIXELS, paramLabel = "N", description = "Largest accepted frame, width x height.")
    Long maxPixels;

    @Option(names = MediaLimits.FLAG_MAX_FRAMES, paramLabel = "N", description = "Most frames one run may sample.")
    Integer maxFrames;

    @Option(names = MediaLimits.FLAG_MAX_DURATION, paramLabel = "S", description = "Longest accepted video.")
    Long maxDurationSeconds;

    @Option(names = MediaLimits.FLAG_DECODE_TIMEOUT, paramLabel = "S", description = "Give up decoding after S seconds.")
    Long decodeTimeoutSeconds;

    @Override
    public Integer call() throws IOException {
        FrameSampler frameSampler = FrameSampler.parse(sampler, frames);
        DecodeOptions options = DecodeOptions.DEFAULTS.withMaxSide(maxSide).withThreads(threads);
        Files.createDirectories(out);
        List<Map<String, Object>> written = new ArrayList<>();
        try (VideoDecoder decoder = VideoDecoder.open(VideoSource.of(video), limits(), options)) {
            VideoInfo info = decoder.info();
            SamplePlan plan = frameSampler.plan(info);
            LOG.info("{}: {}; sampling {} frames with {}", video, info, plan.size(), plan.sampler());
            DecodeSummary summary;
            try (FrameIterator it = decoder.frames(plan);
                 ProgressBar progress = new ProgressBar("frames", plan.size())) {
                while (it.hasNext()) {
                    Frame frame = it.next();
                    String file = String.format("frame_%04d.png", written.size());
                    writePng(frame.image(), out.resolve(file));
                    Map<String, Object> entry = new LinkedHashMap<>();
                    entry.put("index", frame.index());
                    entry.put("timestamp", frame.timestampSeconds());
                    entry.put("file", file);
                    written.add(entry);
                    progress.step();
                }
                summary = it.summary();
            }
            writeJson(info, plan, summary, written);
            if (summary.damaged()) {
                System.err.println("glimpse: warning: " + video + " is damaged: " + summary.decodeErrors()
                        + " decode errors, " + summary.corruptFrames() + " corrupt frames; returned the decodable frames");
            }
        }
        System.out.println("wrote " + written.size() + " frames and frames.json to " + out);
        return 0;
    }

    private MediaLimits limits() {
        MediaLimits limits = MediaLimits.DEFAULTS;
        if (maxFileBytes != null) {
            limits = limits.withMaxFileBytes(maxFileBytes);
        }
        if (maxPixels != null) {
            limits = limits.withMaxPixelsPerFrame(maxPixels);
        }
        if (maxFrames != null) {
            limits = limits.withMaxFrames(maxFrames);
        }
        if (maxDurationSeconds != null) {
            limits = limits.withMaxDuration(Duration.ofSeconds(maxDurationSeconds));
        }
        if (decodeTimeoutSeconds != null) {
            limits = limits.withMaxDecodeTime(Duration.ofSeconds(decodeTimeoutSeconds));
        }
        return limits;
    }

    private void writeJson(VideoInfo info, SamplePlan plan, DecodeSummary summary, List<Map<String, Object>> written)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("video", video.toString());
        json.put("sampler", plan.sampler());
        json.put("info", info);
        json.put("summary", summary);
        json.put("frames", written);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve("frames.json").toFile(), json);
    }

    /** Writes RGB pixels as a PNG (Java's 3-byte image type stores BGR, hence the swap). */
    static void writePng(RgbImage image, Path file) throws IOException {
        BufferedImage img = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_3BYTE_BGR);
        byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        byte[] rgb = image.pixels();
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        if (!ImageIO.write(img, "png", file.toFile())) {
            throw new IOException("no PNG writer available for " + file);
        }
    }
}
