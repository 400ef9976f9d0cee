package dev.glimpse.vlmruntime.llava;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuParallel;
import dev.glimpse.kernels.image.PixelNormalization;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.visionencoder.preprocess.ImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessorConfig;
import dev.glimpse.visionencoder.preprocess.ProcessedImage;
import dev.glimpse.visionencoder.preprocess.StandardImageProcessor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code LlavaOnevisionVideoProcessor} ({@code video_processing_llava_onevision.py}) for frames
 * already sampled: each frame is resized to {@code size} (height, width), rescaled and normalized,
 * giving {@code pixel_values_videos} [frames, 3, H, W]. Settings come from the
 * {@code "video_processor"} object of {@code processor_config.json} (else
 * {@code video_preprocessor_config.json}), absent keys taking the class defaults: size 384x384,
 * bicubic, OPENAI_CLIP mean/std, rescale 1/255, no crop.
 *
 * <p>Difference from HF: transformers resizes video frames with torchvision (antialiased float
 * interpolation), which it requires; Glimpse resizes them with its bit-exact PIL port, as the image
 * processors do. Frames already at {@code size} (the parity fixture) are not resampled by either.
 */
public final class OnevisionVideoProcessor {

    /**
     * The frames after {@link StandardImageProcessor#prepare} (resize on 8-bit pixels, in parallel on the CPU
     * backend's pool, each into its own slot), for a GPU to normalize ({@link #normalization()}); null when this
     * checkpoint's frame processor has no such split.
     */
    public List<StandardImageProcessor.PreparedImage> prepare(List<RgbImage> videoFrames) {
        if (!(frames instanceof StandardImageProcessor standard)) {
            return null;
        }
        if (videoFrames.isEmpty()) {
            throw new IllegalArgumentException("a video needs at least one frame");
        }
        StandardImageProcessor.PreparedImage[] out = new StandardImageProcessor.PreparedImage[videoFrames.size()];
        CpuParallel.forRange(videoFrames.size(), 1, (from, to) -> {
            for (int f = from; f < to; f++) {
                out[f] = standard.prepare(videoFrames.get(f));
            }
        });
        return List.of(out);
    }

    /** The frames' rescale and normalize; null where {@link #prepare} is. */
    public PixelNormalization normalization() {
        return frames instanceof StandardImageProcessor standard ? standard.normalization() : null;
    }

    /** Where {@link #process(List, HostAllocator)} puts a video's pixel values. */
    @FunctionalInterface
    public interface HostAllocator {
        Tensor allocate(DType dtype, int... shape);
    }

    private static final Map<String, Object> DEFAULTS = Map.of(
            "size", Map.of("height", 384, "width", 384),
            "resample", 3,
            "image_mean", List.of(0.48145466, 0.4578275, 0.40821073),
            "image_std", List.of(0.26862954, 0.26130258, 0.27577711),
            "do_center_crop", false);

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final ImageProcessor frames;

    private OnevisionVideoProcessor(ImageProcessor frames) {
        this.frames = frames;
    }

    /** Reads the video processor settings of the checkpoint in {@code folder}. */
    public static OnevisionVideoProcessor load(Path folder) {
        Path processorFile = folder.resolve(LlavaProcessorConfig.FILE);
        HfJson source = null;
        if (Files.isRegularFile(processorFile)) {
            source = HfJson.read(processorFile).optObject("video_processor").orElse(null);
        }
        Path videoFile = folder.resolve("video_preprocessor_config.json");
        if (source == null && Files.isRegularFile(videoFile)) {
            source = HfJson.read(videoFile);
        }
        ObjectNode node = source == null ? JsonNodeFactory.instance.objectNode() : source.node().deepCopy();
        for (Map.Entry<String, Object> e : DEFAULTS.entrySet()) {
            if (!node.hasNonNull(e.getKey())) {
                node.set(e.getKey(), MAPPER.valueToTree(e.getValue()));
            }
        }
        node.put("image_processor_type", "SiglipImageProcessor");
        Path origin = source == null ? processorFile : source.file();
        return new OnevisionVideoProcessor(ImageProcessor.of(ImageProcessorConfig.parse(HfJson.of(origin, node))));
    }

    /**
     * {@code pixel_values_videos} of one video, [frames, 3, H, W] F32, owned by the caller. Frames
     * are processed in parallel on the CPU backend's pool ({@link CpuParallel}), each into its own
     * slot, so the result does not depend on the thread count (32 frames took 405 ms one at a time
     * on the benchmark host).
     */
    public Tensor process(List<RgbImage> videoFrames) {
        return process(videoFrames, Tensor::allocate);
    }

    /**
     * {@link #process(List)} into a tensor from {@code allocator} (e.g. {@link dev.glimpse.kernels.Backend#stagingTensor},
     * whose contents are unspecified: every element is written here).
     */
    public Tensor process(List<RgbImage> videoFrames, HostAllocator allocator) {
        if (videoFrames.isEmpty()) {
            throw new IllegalArgumentException("a video needs at least one frame");
        }
        Tensor out;
        try (ProcessedImage first = frames.process(videoFrames.getFirst())) {
            Tensor pixels = first.pixelValues();
            out = allocator.allocate(DType.F32, videoFrames.size(), pixels.dim(0), pixels.dim(1), pixels.dim(2));
            try {
                pixels.copyElementsTo(out.select(0, 0));
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        }
        try {
            CpuParallel.forRange(videoFrames.size() - 1, 1, (from, to) -> {
                for (int f = from + 1; f <= to; f++) {
                    try (ProcessedImage p = frames.process(videoFrames.get(f))) {
                        p.pixelValues().copyElementsTo(out.select(0, f));
                    }
                }
            });
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }
}
