package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.PixelNormalization;
import dev.glimpse.kernels.image.RgbImage;

/**
 * transformers' {@code CLIPImageProcessor} and {@code SiglipImageProcessor} as their PIL twins
 * ({@code CLIPImageProcessorPil}, {@code SiglipImageProcessorPil}, i.e. 4.x's slow processors) run
 * them: both are {@code PilBackend._preprocess} with different defaults —
 * resize ({@code {shortest_edge}} via {@code get_resize_output_image_size(default_to_square=False)},
 * or a fixed {@code {height, width}}) with PIL's filter on 8-bit pixels ({@link PillowResize},
 * bit-exact), {@code center_crop}, {@code rescale} and {@code normalize} in float32; then, if
 * {@code do_pad} with a {@code pad_size}, zero padding at the bottom and right (after
 * normalization, as transformers pads). Without {@code pad_size}, transformers pads a batch to its
 * largest image, which for one image is nothing.
 *
 * <p>{@code do_convert_rgb} has nothing to do: the input is already RGB.
 *
 * <p><b>The torchvision path differs.</b> transformers 5.x picks the torchvision-backed class when
 * torchvision is installed ({@code CLIPImageProcessor}, 4.x's {@code *Fast}). It resizes with
 * {@code torchvision.transforms.v2.functional.resize(antialias=True)}; for BICUBIC on a uint8 CPU
 * tensor that is float32 {@code interpolate(mode="bicubic", antialias=True)}, clamped and rounded
 * back to uint8, which is not PIL's fixed-point arithmetic. It also fuses rescale and normalize into
 * {@code (x - mean * 255) / (std * 255)}. Torchvision itself was not run; a torch-only emulation
 * of that path (tools/fixtures/preprocess/make_preprocess_fixtures.py, written to
 * fixtures/preprocess/torchvision_emulation.json) differs from the PIL path, on the parity
 * photographs, by up to 8/255 per value and 0.0002 to 0.0008 mean absolute in [0, 1] pixel units
 * when a resize happens, and by 0 when none does. This class follows PIL, not torchvision.
 */
public final class StandardImageProcessor implements ImageProcessor {

    private final ImageProcessorConfig config;
    private final PatchPipeline pipeline;

    StandardImageProcessor(ImageProcessorConfig config) {
        this.config = config;
        this.pipeline = new PatchPipeline(config);
    }

    @Override
    public ImageProcessorConfig config() {
        return config;
    }

    /** {@code pixel_values} {@code [3, H, W]} of one image. */
    @Override
    public ProcessedImage process(RgbImage image) {
        PreparedImage prepared = prepare(image);
        Tensor pixels = Tensor.allocate(DType.F32, 3, prepared.planeHeight(), prepared.planeWidth());
        pipeline.writePixelValues(prepared.pixels(), pixels.segment(), 0, prepared.planeHeight(), prepared.planeWidth());
        return new ProcessedImage(pixels, prepared.imageSize());
    }

    /**
     * {@link #process}'s geometric steps alone (resize, center crop: 8-bit pixels) and the plane its values go
     * to (the padded size): what a GPU turns into the same {@code pixel_values} with {@link #normalization()}
     * ({@code Backend#normalizePixels}), so a quarter of the bytes cross and the host skips the per-value work.
     */
    public PreparedImage prepare(RgbImage image) {
        RgbImage prepared = pipeline.resizeAndCrop(image);
        int height = prepared.height();
        int width = prepared.width();
        if (config.doPad() && config.padSize().isPresent()) {
            Resolution pad = config.padSize().get();
            if (pad.height() < height || pad.width() < width) {
                throw new ImageSizeException("pad_size " + pad.height() + "x" + pad.width() + " of " + config.source()
                        + " is smaller than the processed image " + height + "x" + width);
            }
            height = pad.height();
            width = pad.width();
        }
        return new PreparedImage(prepared, height, width, new Resolution(image.height(), image.width()));
    }

    /** Rescale and normalize as this processor applies them, value by value. */
    public PixelNormalization normalization() {
        return pipeline.normalization();
    }

    /**
     * One image after the geometric steps: its 8-bit pixels, the plane {@code [3, planeHeight, planeWidth]}
     * they are normalized into (zero padding at the bottom and right) and the input's size.
     */
    public record PreparedImage(RgbImage pixels, int planeHeight, int planeWidth, Resolution imageSize) {
    }
}
