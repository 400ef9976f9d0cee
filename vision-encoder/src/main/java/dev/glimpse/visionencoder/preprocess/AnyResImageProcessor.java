package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.ConfigException;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code LlavaOnevisionImageProcessor} as its PIL twin
 * ({@code LlavaOnevisionImageProcessorPil}, 4.x's slow processor) runs it.
 *
 * <p>{@link #process} is the single-image (anyres) path, {@code get_image_patches}:
 * <ol>
 *   <li>{@link AnyResGeometry#selectBestResolution} picks a grid pinpoint for the image's size;</li>
 *   <li>the image is resized with PIL into it keeping its aspect ratio
 *       ({@code _resize_for_patching}, {@link AnyResGeometry#patchOutputSize}) and zero-padded
 *       (black, on 8-bit pixels) to the pinpoint, centred with the odd pixel on the bottom/right
 *       ({@code _pad_for_patching});</li>
 *   <li>the padded image is cut into {@code patch_size} tiles row by row ({@code divide_to_patches};
 *       {@code patch_size} is {@code crop_size.height}, else {@code size.height}, else
 *       {@code size.shortest_edge});</li>
 *   <li>the whole image, resized with PIL to {@code size} (height, width; or a square of
 *       {@code shortest_edge}), is put first;</li>
 *   <li>each of them then goes through the standard steps ({@link PatchPipeline}: resize — a no-op
 *       at the same size, as PIL returns a copy — crop, rescale, normalize).</li>
 * </ol>
 * The output is {@code [1 + rows * cols, 3, H, W]}; {@code image_sizes} is the input's (height,
 * width). The processor does not cap the tile count: {@code vision_aspect_ratio="anyres_max_9"}
 * is applied by the model ({@code LlavaOnevisionModel.pack_image_features} downsamples the
 * unpadded feature grid), not here. {@code do_pad} pads a batch of images to the same tile count,
 * which for one image is nothing.
 *
 * <p>{@link #processWithoutTiling} is the path transformers takes for each image of a multi-image
 * prompt: {@code pad_to_square} with the colour {@code int(mean * 255)} per channel, then the
 * standard steps, giving {@code [1, 3, H, W]}.
 *
 * <p><b>The torchvision path differs</b> in resizing (antialiased float32 {@code interpolate},
 * rounded back to uint8, instead of PIL's fixed point) and fuses rescale and normalize; see
 * {@link StandardImageProcessor}.
 */
public final class AnyResImageProcessor implements ImageProcessor {

    private final ImageProcessorConfig config;
    private final PatchPipeline pipeline;

    AnyResImageProcessor(ImageProcessorConfig config) {
        this.config = config;
        this.pipeline = new PatchPipeline(config);
    }

    @Override
    public ImageProcessorConfig config() {
        return config;
    }

    /** {@code pixel_values} {@code [N, 3, H, W]} of a single-image prompt: the whole image, then the tiles. */
    @Override
    public ProcessedImage process(RgbImage image) {
        Resolution original = new Resolution(image.height(), image.width());
        Resolution best = AnyResGeometry.selectBestResolution(original, config.imageGridPinpoints());
        Resolution fitted = AnyResGeometry.patchOutputSize(original, best);
        RgbImage resized = PillowResize.resize(image, fitted.width(), fitted.height(), config.resample());
        int padX = (best.width() - fitted.width()) / 2;
        int padY = (best.height() - fitted.height()) / 2;
        RgbImage padded = PixelOps.pad(resized, best.width(), best.height(), padX, padY, new int[] {0, 0, 0});

        Resolution base = baseSize();
        List<RgbImage> tiles = new ArrayList<>();
        tiles.add(PillowResize.resize(image, base.width(), base.height(), config.resample()));
        int patch = patchSize();
        for (int y = 0; y < padded.height(); y += patch) {
            for (int x = 0; x < padded.width(); x += patch) {
                tiles.add(PixelOps.region(padded, x, y, Math.min(patch, padded.width() - x),
                        Math.min(patch, padded.height() - y)));
            }
        }
        return stack(tiles, original);
    }

    /** {@code pixel_values} {@code [1, 3, H, W]} of one image of a multi-image prompt (padded square, no tiles). */
    public ProcessedImage processWithoutTiling(RgbImage image) {
        int side = Math.max(image.width(), image.height());
        int[] fill = new int[3];
        for (int c = 0; c < 3; c++) {
            fill[c] = (int) (config.imageMean().get(c) * 255);
            if (fill[c] < 0 || fill[c] > 255) {
                throw new ConfigException(config.source() + ": key 'image_mean' gives the pad colour " + fill[c]
                        + " (int(mean * 255)), outside 0..255");
            }
        }
        RgbImage square = image.width() == image.height() ? image
                : PixelOps.pad(image, side, side, (side - image.width()) / 2, (side - image.height()) / 2, fill);
        return stack(List.of(square), new Resolution(image.height(), image.width()));
    }

    private ProcessedImage stack(List<RgbImage> tiles, Resolution original) {
        List<RgbImage> prepared = new ArrayList<>(tiles.size());
        for (RgbImage tile : tiles) {
            RgbImage p = pipeline.resizeAndCrop(tile);
            if (!prepared.isEmpty() && (p.width() != prepared.getFirst().width() || p.height() != prepared.getFirst().height())) {
                throw new ConfigException(config.source() + ": tiles come out as " + prepared.getFirst().height() + "x"
                        + prepared.getFirst().width() + " and " + p.height() + "x" + p.width()
                        + " and cannot be stacked (transformers fails too); check size, do_resize and image_grid_pinpoints");
            }
            prepared.add(p);
        }
        int h = prepared.getFirst().height();
        int w = prepared.getFirst().width();
        long tileElements = 3L * h * w;
        Tensor pixels = Tensor.allocate(DType.F32, prepared.size(), 3, h, w);
        for (int i = 0; i < prepared.size(); i++) {
            pipeline.writePixelValues(prepared.get(i), pixels.segment(), i * tileElements, h, w);
        }
        return new ProcessedImage(pixels, original);
    }

    /** {@code size_tuple}: (height, width) of {@code size}, or a square of its shortest edge. */
    private Resolution baseSize() {
        return switch (config.size()) {
            case SizeSpec.FixedSize f -> new Resolution(f.height(), f.width());
            case SizeSpec.ShortestEdge s -> new Resolution(s.shortestEdge(), s.shortestEdge());
            case SizeSpec.ShortestLongestEdge s -> new Resolution(s.shortestEdge(), s.shortestEdge());
        };
    }

    /** {@code crop_size.height}, else {@code size.height}, else {@code size.shortest_edge}. */
    private int patchSize() {
        if (config.cropSize().isPresent()) {
            return config.cropSize().get().height();
        }
        return switch (config.size()) {
            case SizeSpec.FixedSize f -> f.height();
            case SizeSpec.ShortestEdge s -> s.shortestEdge();
            case SizeSpec.ShortestLongestEdge s -> s.shortestEdge();
        };
    }
}
