package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.preprocess.AnyResImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessorConfig;
import dev.glimpse.visionencoder.preprocess.ProcessedImage;
import dev.glimpse.visionencoder.preprocess.Resolution;
import dev.glimpse.visionencoder.preprocess.StandardImageProcessor;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.decoder.PositionMode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Images or video frames to projected features, as {@code get_image_features} /
 * {@code get_video_features} of {@code LlavaModel} and {@code LlavaOnevisionModel} compute them:
 * image processor, vision tower ({@code vision_feature_layer}, {@code vision_feature_select_strategy}),
 * the {@link VisualHooks} (pruning inside the tower, before the projector and on its output),
 * {@link Projector}, and for OneVision the
 * {@link OnevisionPacking} of anyres grids and pooled video frames. Placeholder counts are those of
 * the HF processor ({@link PlaceholderCounts}); features that would not fill them are an error, as
 * in HF. Thread-safe (the parts are).
 */
final class VisualEncoder {

    private final LlavaConfig config;
    private final LlavaProcessorConfig processor;
    private final Backend backend;
    private final VisionTransformer vision;
    private final Projector projector;
    private final ImageProcessor imageProcessor;
    private final OnevisionVideoProcessor videoProcessor;
    private final float[] imageNewline;
    /**
     * OneVision on a device, uploaded once at load (null otherwise): the {@link BilinearResize#matrix}
     * of the 2x2 video pooling [pooled^2, side^2] and image_newline as a row [1, dim], so a video's
     * pooling uploads nothing (an upload from pageable memory waits for the stream, which kept the
     * host from tokenizing the prompt while the tower ran).
     */
    private final Tensor videoPooling;
    private final Tensor newlineRow;
    private final FeatureSelection selection;

    VisualEncoder(LlavaConfig config, LlavaProcessorConfig processor, Backend backend, VisionTransformer vision,
                  Projector projector, ImageProcessor imageProcessor, OnevisionVideoProcessor videoProcessor,
                  float[] imageNewline, ResidentWeights store) {
        this.config = config;
        this.processor = processor;
        this.backend = backend;
        this.vision = vision;
        this.projector = projector;
        this.imageProcessor = imageProcessor;
        this.videoProcessor = videoProcessor;
        this.imageNewline = imageNewline;
        if (config.isOnevision() && !store.isHost()) {
            int side = config.vision().patchesPerSide();
            int pooled = (side + 1) / 2;
            this.videoPooling = resident(store, BilinearResize.matrix(side, side, pooled, pooled), pooled * pooled,
                    side * side);
            this.newlineRow = resident(store, imageNewline, 1, imageNewline.length);
        } else {
            this.videoPooling = null;
            this.newlineRow = null;
        }
        this.selection = FeatureSelection.of(config.visionFeatureLayers(), config.visionFeatureSelectStrategy());
    }

    EncodedVisuals encode(VisualInput input, VisualHooks hooks) {
        if (config.isOnevision() && hooks.visionBlocks() != null) {
            throw new IllegalArgumentException("LLaVA-OneVision cannot prune inside the vision tower: anyres packing "
                    + "and video pooling need every token of the grid");
        }
        return switch (input) {
            case VisualInput.Images images when images.images().isEmpty() ->
                    EncodedVisuals.unpruned(null, new int[0], null, 0, 0, 0, 0, 0, 0);
            case VisualInput.Images images -> config.isOnevision()
                    ? onevisionImages(images.images(), hooks.projector()) : llavaImages(images.images(), hooks);
            case VisualInput.Video video -> onevisionVideo(video.frames(), hooks.projector());
        };
    }

    /**
     * LLaVA: one [3, H, W] per image, features per image through the hooks, then the projector.
     * With pruning inside the tower an image has fewer feature rows than placeholders of the
     * unpruned model; the prompt then holds one placeholder per row that reaches the projector.
     */
    private EncodedVisuals llavaImages(List<RgbImage> images, VisualHooks hooks) {
        ProjectorInputHook hook = hooks.projector();
        long t0 = System.nanoTime();
        List<Tensor> projected = new ArrayList<>();
        try (HostPixels host = hostPixels(images);
             Tensor devicePixels = host.toBackend(backend)) {
            long t1 = host.readyNanos();
            int[] tokens = new int[images.size()];
            int[][] origins = new int[images.size()][];
            int in = 0;
            int kept = 0;
            VisionRequest request = VisionRequest.features(selection).withTaps(hook.taps())
                    .withPruning(hooks.visionBlocks());
            int expected = PlaceholderCounts.llavaImage(processor, devicePixels.dim(2), devicePixels.dim(3));
            int firstFeatureToken = config.vision().numPatches() + (config.vision().hasClassToken() ? 1 : 0) - expected;
            try (VisionOutput out = vision.encode(devicePixels, request)) {
                for (int i = 0; i < images.size(); i++) {
                    EncodedImage image = out.image(i);
                    Tensor features = image.features();
                    if (hooks.visionBlocks() == null) {
                        requireRows(features.dim(0), expected, "image " + (i + 1));
                    }
                    in += features.dim(0);
                    ProjectedImage p = project(image, hooks, i, firstFeatureToken);
                    projected.add(p.features());
                    origins[i] = p.origins();
                    tokens[i] = p.features().dim(0);
                    kept += tokens[i];
                }
            }
            Tensor all = concatRows(projected);
            int[] unpruned = new int[images.size()];
            Arrays.fill(unpruned, expected);
            int[] allOrigins = Arrays.stream(origins).anyMatch(o -> o == null) ? null
                    : Arrays.stream(origins).flatMapToInt(Arrays::stream).toArray();
            return new EncodedVisuals(all, tokens, allOrigins, unpruned, null, 0, expected * images.size(), in, kept,
                    t1 - t0, System.nanoTime() - t1);
        } finally {
            projected.forEach(Tensor::close);
        }
    }

    /**
     * Projected rows of one image and, for each, its row among the image's unpruned feature rows.
     *
     * @param features F32 [rows, text hidden], owned by the caller
     * @param origins  per row, the unpruned feature row whose prompt position it takes, ascending;
     *                 null when the kept rows were left on the device ({@link ProjectorInputHook#keepOnBackend})
     */
    private record ProjectedImage(Tensor features, int[] origins) {
    }

    /**
     * The projector over the hook's replacement features, or else over the rows it kept; each row's
     * origin is the unpruned feature row of its vision token ({@code featureTokens} less
     * {@code firstFeatureToken}, the [CLS] the feature selection drops), or what the hook names for
     * a replacement.
     */
    private ProjectedImage project(EncodedImage image, VisualHooks hooks, int index, int firstFeatureToken) {
        ProjectorInputHook hook = hooks.projector();
        Tensor replaced = hook.replace(index, image);
        if (replaced != null) {
            try (replaced) {
                int rows = replaced.dim(0);
                int[] origins = hook.replacementOrigins(index, rows);
                if (origins == null && hooks.positions() == PositionMode.ORIGINAL) {
                    throw new IllegalArgumentException("the pre-projector hook replaces image " + (index + 1)
                            + "'s features without saying which unpruned positions they take; use contiguous "
                            + "positions (--positions contiguous)");
                }
                return new ProjectedImage(projector.project(replaced),
                        origins == null ? IntStream.range(0, rows).toArray() : origins);
            }
        }
        Tensor keptOnBackend = LlavaModel.prepareOverlap() && hooks.positions() == PositionMode.CONTIGUOUS
                ? hook.keepOnBackend(index, image) : null;
        if (keptOnBackend != null) {
            try (Tensor gathered = backend.allocate(DType.F32, keptOnBackend.dim(0), image.features().dim(1))) {
                backend.gatherRows(image.features(), keptOnBackend, gathered);
                return new ProjectedImage(projector.project(gathered), null);
            }
        }
        int[] keep = hook.keep(index, image);
        Tensor features = projectKept(image.features(), keep, index);
        Tensor resized;
        try {
            resized = hook.replaceProjected(index, features);
        } catch (RuntimeException | Error e) {
            features.close();
            throw e;
        }
        if (resized != null) {
            features.close();
            return replacedAfterProjection(resized, hooks, index);
        }
        int[] tokens = image.featureTokens();
        int[] rows = keep == null ? IntStream.range(0, tokens.length).toArray() : keep;
        return new ProjectedImage(features, Arrays.stream(rows).map(r -> tokens[r] - firstFeatureToken).toArray());
    }

    /** The hook's {@link ProjectorInputHook#replaceProjected} rows with the positions it names for them. */
    private static ProjectedImage replacedAfterProjection(Tensor resized, VisualHooks hooks, int index) {
        int rows = resized.dim(0);
        int[] origins = hooks.projector().replacementOrigins(index, rows);
        if (origins == null && hooks.positions() == PositionMode.ORIGINAL) {
            resized.close();
            throw new IllegalArgumentException("the projector hook replaces image " + (index + 1) + "'s projected "
                    + "features without saying which unpruned positions they take; use contiguous positions "
                    + "(--positions contiguous)");
        }
        return new ProjectedImage(resized, origins == null ? IntStream.range(0, rows).toArray() : origins);
    }

    /** The projector over the rows the hook kept (all of them when {@code keep} is null or complete). */
    private Tensor projectKept(Tensor features, int[] keep, int image) {
        if (keep == null || keep.length == features.dim(0)) {
            return projector.project(features);
        }
        checkKeep(keep, features.dim(0), image);
        try (Tensor gathered = backend.allocate(DType.F32, keep.length, features.dim(1))) {
            backend.gatherRows(features, keep, gathered);
            return projector.project(gathered);
        }
    }

    /**
     * OneVision images: one image is tiled (anyres) and packed; each image of a multi-image prompt
     * is padded to a square, encoded alone and followed by a newline ({@code batch_num_images > 1}).
     */
    private EncodedVisuals onevisionImages(List<RgbImage> images, ProjectorInputHook hook) {
        AnyResImageProcessor anyRes = (AnyResImageProcessor) imageProcessor;
        boolean single = images.size() == 1;
        int side = config.vision().patchesPerSide();
        int dim = projector.outputSize();
        List<Resolution> pinpoints = config.imageGridPinpoints().stream()
                .map(p -> new Resolution(p.get(0), p.get(1))).toList();
        int[] tokens = new int[images.size()];
        List<float[]> packed = new ArrayList<>();
        long preprocess = 0;
        long visionTime = 0;
        int in = 0;
        for (int i = 0; i < images.size(); i++) {
            long t0 = System.nanoTime();
            try (ProcessedImage p = single ? anyRes.process(images.get(i)) : anyRes.processWithoutTiling(images.get(i))) {
                long t1 = System.nanoTime();
                preprocess += t1 - t0;
                Tensor pixels = p.pixelValues();
                int tiles = pixels.dim(0);
                float[] features = encodeAndProject(pixels, hook, i);
                in += tiles * side * side;
                float[] image = OnevisionPacking.packImage(features, tiles, side, dim, p.imageSize(), pinpoints,
                        config.vision().imageSize(), processor.maxNumPatches(), imageNewline);
                int expected = single
                        ? PlaceholderCounts.onevisionImage(processor, p.imageSize(),
                        new Resolution(pixels.dim(2), pixels.dim(3)), anyRes.config().imageGridPinpoints())
                        : PlaceholderCounts.onevisionMultiImage(processor);
                tokens[i] = image.length / dim;
                requireRows(tokens[i], expected, "image " + (i + 1));
                packed.add(image);
                visionTime += System.nanoTime() - t1;
            }
        }
        return EncodedVisuals.unpruned(upload(packed, dim), tokens, null, 0, in, in, in, preprocess, visionTime);
    }

    /** OneVision video: frames through the tower and projector, 2x2 bilinear pooling, one trailing newline. */
    private EncodedVisuals onevisionVideo(List<RgbImage> frames, ProjectorInputHook hook) {
        if (!config.isOnevision()) {
            throw new IllegalArgumentException(config.modelType() + " takes video frames as images; only "
                    + LlavaConfig.LLAVA_ONEVISION + " has a video placeholder");
        }
        long t0 = System.nanoTime();
        List<StandardImageProcessor.PreparedImage> prepared = devicePixels() ? oneSize(videoProcessor.prepare(frames)) : null;
        try (HostPixels host = prepared != null ? HostPixels.bytes(backend, prepared, videoProcessor.normalization())
                : HostPixels.values(videoProcessor.process(frames, backend::stagingTensor))) {
            long t1 = host.readyNanos();
            int side = config.vision().patchesPerSide();
            int dim = projector.outputSize();
            Tensor video;
            if (backend.device().isHost()) {
                float[] packed = OnevisionPacking.packVideo(encodeAndProject(host.values(), hook, 0), frames.size(), side, dim,
                        imageNewline);
                video = upload(List.of(packed), dim);
            } else {
                try (Tensor devicePixels = host.toBackend(backend);
                     Tensor projected = projectDevicePixels(devicePixels, hook, 0)) {
                    video = poolVideoOnDevice(projected, frames.size(), side, dim);
                }
            }
            int tokens = video.dim(0);
            try {
                requireRows(tokens, PlaceholderCounts.onevisionVideo(processor, frames.size()), "the video");
            } catch (RuntimeException e) {
                video.close();
                throw e;
            }
            int in = frames.size() * side * side;
            return EncodedVisuals.unpruned(null, new int[0], video, tokens, in, in, in, t1 - t0, System.nanoTime() - t1);
        }
    }

    /**
     * {@link OnevisionPacking#packVideo} on the device, nothing crossing to the host: the projected
     * frames [frames * side^2, dim] transposed to channel rows [frames, dim, side^2], multiplied by
     * the {@link BilinearResize#matrix} of the 2x2 pooling (one F32 GEMM for every frame),
     * transposed back to token rows and followed by the newline row.
     */
    private Tensor poolVideoOnDevice(Tensor projected, int frames, int side, int dim) {
        int pooled = (side + 1) / 2;
        int in = side * side;
        int out = pooled * pooled;
        Tensor video = backend.allocate(DType.F32, frames * out + 1, dim);
        try (Tensor channels = backend.allocate(DType.F32, frames, dim, in);
             Tensor small = backend.allocate(DType.F32, frames, dim, out)) {
            backend.copy(projected.reshape(frames, in, dim).transpose(1, 2), channels);
            backend.linear(channels, videoPooling, null, small);
            backend.copy(small.transpose(1, 2), video.slice(0, 0, frames * out).reshape(frames, out, dim));
            backend.copy(newlineRow, video.slice(0, frames * out, frames * out + 1));
            return video;
        } catch (RuntimeException | Error e) {
            video.close();
            throw e;
        }
    }

    /** {@code values} as {@code shape} on the store's device, owned by the store. */
    private static Tensor resident(ResidentWeights store, float[] values, int... shape) {
        try (Tensor host = Tensor.of(values, shape)) {
            return store.place(host);
        }
    }

    /** Tower, hook (which must keep all: OneVision needs full grids), projector; host [n * tokens * dim]. */
    private float[] encodeAndProject(Tensor pixels, ProjectorInputHook hook, int imageIndex) {
        try (Tensor projected = projectOnDevice(pixels, hook, imageIndex)) {
            Tensor host = backend.download(projected);
            try {
                return host.toFloatArray();
            } finally {
                if (host != projected) {
                    host.close();
                }
            }
        }
    }

    /** Tower, hook (which must keep all: OneVision needs full grids), projector; [n * tokens, dim] where the backend computes. */
    private Tensor projectOnDevice(Tensor pixels, ProjectorInputHook hook, int imageIndex) {
        try (Tensor devicePixels = backend.upload(pixels)) {
            return projectDevicePixels(devicePixels, hook, imageIndex);
        }
    }

    /** {@link #projectOnDevice} of pixel values already on the backend. */
    private Tensor projectDevicePixels(Tensor devicePixels, ProjectorInputHook hook, int imageIndex) {
        int n = devicePixels.dim(0);
        try (VisionOutput out = vision.encode(devicePixels, VisionRequest.features(selection).withTaps(hook.taps()))) {
            Tensor stacked = out.stackedFeatures();
            int perImage = stacked.dim(1);
            if (perImage != config.vision().numPatches()) {
                throw new ConfigException("LLaVA-OneVision packs full " + config.vision().patchesPerSide() + "x"
                        + config.vision().patchesPerSide() + " grids, but vision_feature_select_strategy '"
                        + config.visionFeatureSelectStrategy() + "' leaves " + perImage + " tokens per tile");
            }
            for (int i = 0; i < n; i++) {
                Tensor replaced = hook.replace(imageIndex, out.image(i));
                if (replaced != null) {
                    replaced.close();
                    throw new IllegalArgumentException("LLaVA-OneVision cannot pool visual tokens before the projector:"
                            + " anyres packing and video pooling need every token of the grid");
                }
                int[] keep = hook.keep(imageIndex, out.image(i));
                if (keep != null && keep.length != perImage) {
                    throw new IllegalArgumentException("LLaVA-OneVision cannot prune visual tokens before the projector:"
                            + " anyres packing and video pooling need every token of the grid");
                }
            }
            return projector.project(stacked.reshape(n * perImage, stacked.dim(2)));
        }
    }

    /**
     * The picture the plain-LLaVA tower sees for {@code image} (resized and cropped by the image
     * processor), back in 8-bit RGB: normalisation and rescaling undone, rounded and clamped.
     */
    RgbImage modelView(RgbImage image) {
        if (config.isOnevision()) {
            throw new IllegalArgumentException("LLaVA-OneVision tiles images (anyres); its visual tokens form no single "
                    + "patch grid over one picture");
        }
        ImageProcessorConfig c = imageProcessor.config();
        try (ProcessedImage p = imageProcessor.process(image)) {
            Tensor px = p.pixelValues();
            int h = px.dim(1);
            int w = px.dim(2);
            float[] v = px.toFloatArray();
            byte[] rgb = new byte[3 * w * h];
            for (int ch = 0; ch < 3; ch++) {
                for (int i = 0; i < w * h; i++) {
                    double x = v[ch * w * h + i];
                    if (c.doNormalize()) {
                        x = x * c.imageStd().get(ch) + c.imageMean().get(ch);
                    }
                    if (c.doRescale()) {
                        x /= c.rescaleFactor();
                    }
                    rgb[i * 3 + ch] = (byte) Math.clamp(Math.round(x), 0, 255);
                }
            }
            return new RgbImage(w, h, rgb);
        }
    }

    /** Frees what the vision tower keeps between calls (its replayable CUDA graphs and their buffers). */
    void close() {
        vision.close();
    }

    /** {@link LlavaModel#DEVICE_PIXELS_PROPERTY} on a GPU backend. */
    private boolean devicePixels() {
        return !backend.device().isHost() && BooleanProperty.read(LlavaModel.DEVICE_PIXELS_PROPERTY, true);
    }

    private static List<StandardImageProcessor.PreparedImage> prepareAll(StandardImageProcessor p, List<RgbImage> images) {
        return images.stream().map(p::prepare).toList();
    }

    /**
     * {@code prepared} when every image came to one size and one plane (one kernel launch serves them); else null,
     * for the host path (padded images of different sizes, stacked into one padded plane there).
     */
    private static List<StandardImageProcessor.PreparedImage> oneSize(List<StandardImageProcessor.PreparedImage> prepared) {
        if (prepared == null || prepared.isEmpty()) {
            return null;
        }
        StandardImageProcessor.PreparedImage first = prepared.getFirst();
        for (StandardImageProcessor.PreparedImage p : prepared) {
            if (p.pixels().height() != first.pixels().height() || p.pixels().width() != first.pixels().width()
                    || p.planeHeight() != first.planeHeight() || p.planeWidth() != first.planeWidth()) {
                return null;
            }
        }
        return prepared;
    }

    /**
     * The request's pixels on the host: 8-bit images for the backend to normalize under
     * {@link LlavaModel#DEVICE_PIXELS_PROPERTY} when they all came to one size ({@link #oneSize}), else the
     * image processor's F32 pixel values.
     */
    private HostPixels hostPixels(List<RgbImage> images) {
        List<StandardImageProcessor.PreparedImage> prepared = devicePixels()
                && imageProcessor instanceof StandardImageProcessor standard ? oneSize(prepareAll(standard, images)) : null;
        return prepared != null
                ? HostPixels.bytes(backend, prepared, ((StandardImageProcessor) imageProcessor).normalization())
                : HostPixels.values(stackProcessed(images));
    }

    private Tensor stackProcessed(List<RgbImage> images) {
        Tensor out = null;
        try {
            for (int i = 0; i < images.size(); i++) {
                try (ProcessedImage p = imageProcessor.process(images.get(i))) {
                    Tensor px = p.pixelValues();
                    if (out == null) {
                        out = backend.stagingTensor(DType.F32, images.size(), px.dim(0), px.dim(1), px.dim(2));
                    }
                    px.copyElementsTo(out.select(0, i));
                }
            }
            return out;
        } catch (RuntimeException | Error e) {
            if (out != null) {
                out.close();
            }
            throw e;
        }
    }

    /**
     * The parts' rows in one tensor, which the caller owns: a single part itself (taken out of
     * {@code parts}, so nothing is copied), else a new concatenation.
     */
    private Tensor concatRows(List<Tensor> parts) {
        if (parts.size() == 1) {
            return parts.removeFirst();
        }
        int rows = parts.stream().mapToInt(t -> t.dim(0)).sum();
        Tensor all = backend.allocate(DType.F32, rows, projector.outputSize());
        backend.concat(0, parts, all);
        return all;
    }

    private Tensor upload(List<float[]> parts, int dim) {
        int total = parts.stream().mapToInt(a -> a.length).sum();
        float[] all = new float[total];
        int o = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, all, o, a.length);
            o += a.length;
        }
        Tensor host = Tensor.of(all, total / dim, dim);
        Tensor device = backend.upload(host);
        if (device != host) {
            host.close();
        }
        return device;
    }

    private void requireRows(int rows, int placeholders, String what) {
        if (rows != placeholders) {
            throw new ConfigException("the model makes " + rows + " feature rows for " + what + " but the processor ("
                    + LlavaProcessorConfig.FILE + ": patch_size " + processor.patchSize() + ", num_additional_image_tokens "
                    + processor.numAdditionalImageTokens() + ", num_image_tokens " + processor.numImageTokens()
                    + ", vision_feature_select_strategy " + processor.visionFeatureSelectStrategy() + ") expands it to "
                    + placeholders + " placeholders; the checkpoint's configs disagree");
        }
    }

    private static void checkKeep(int[] keep, int rows, int image) {
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] < 0 || keep[i] >= rows || (i > 0 && keep[i] <= keep[i - 1])) {
                throw new IllegalArgumentException("projector hook for image " + image + " must return strictly ascending"
                        + " rows in [0, " + rows + "); got row " + keep[i] + " at " + i);
            }
        }
        if (keep.length == 0) {
            throw new IllegalArgumentException("projector hook for image " + image + " kept no tokens");
        }
    }
}
