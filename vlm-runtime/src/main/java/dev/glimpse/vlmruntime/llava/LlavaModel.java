package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.preprocess.ImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessorConfig;
import dev.glimpse.visionencoder.preprocess.ImageProcessorType;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.decoder.WeightNames;
import dev.glimpse.vlmruntime.text.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * {@code LlavaForConditionalGeneration} and {@code LlavaOnevisionForConditionalGeneration}
 * ({@code modeling_llava.py}, {@code modeling_llava_onevision.py}) with their processors, as one
 * assembly parameterised by {@link LlavaConfig}: the prompt's image/video placeholders are expanded
 * as the HF processor does ({@link PlaceholderCounts}), the text is tokenized, the visual features
 * ({@link VisualEncoder}) replace the placeholder embeddings in order (HF's {@code masked_scatter}),
 * and the {@link Decoder} takes the result. What differs between the two families (anyres tiling,
 * video pooling, image_newline) lives in the visual encoder; everything else is shared.
 *
 * <p>Thread-safety: immutable after {@link #load}; {@link #prepare} may run on several threads at
 * once. Weights are memory-mapped from the checkpoint, which {@link #close} unmaps; on a GPU backend
 * the vision tower, projector and decoder weights are uploaded once at load into one
 * {@link ResidentWeights}, which {@link #close} frees.
 */
public final class LlavaModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LlavaModel.class);

    /**
     * System property: {@code true} lets {@link #prepare} gather the rows a pre-projector hook keeps
     * from indices it leaves on the device ({@link ProjectorInputHook#keepOnBackend}: VTC-CLS), so
     * nothing in prepare waits for the vision tower and the host tokenizes, splices and queues the
     * prefill while the tower runs; the selections are read back when the prompt closes. Contiguous
     * prompt positions only. Default {@code true} since the H200 measured it (LLaVA-1.5-7B shape, 64
     * VTC-CLS tokens: prepare 3.57 -> 2.43 ms, TTFT 9.12 -> 7.74 ms; 2026-11-28, commit 4e4e0fd,
     * bench/results/h200-llava-2026-11-28-session6-overlap.json); {@code false}: the hook's rows come
     * back to the host first, as before. The same rows, embeddings and positions either way. Read at
     * every prepare.
     */
    public static final String PREPARE_OVERLAP_PROPERTY = "glimpse.prepare.overlap";

    /**
     * System property: "true" (the default) makes a GPU backend normalize the pixels itself ({@code HostPixels}): the
     * host resizes and crops 8-bit images ({@link dev.glimpse.visionencoder.preprocess.StandardImageProcessor#prepare}) and uploads those bytes, a
     * quarter of the F32 pixel values, and skips the per-value work; "false" normalizes on the host. Read at every
     * request. Same bits either way (CudaDevicePixelsTest); OneVision's 32 frames on an H200 (2026-11-29, dcf28ae, one
     * JVM): host image processing 12.2 -> 2.7 ms (0.219x), TTFT 0.994x. Applies where the processor is a {@code StandardImageProcessor} (CLIP, SigLIP
     * and OneVision's video frames; OneVision's anyres images stay on the host) and the images of a request came
     * to one size (padded images of several sizes take the host path).
     */
    public static final String DEVICE_PIXELS_PROPERTY = "glimpse.cuda.devicePixels";

    private final Path folder;
    private final LlavaConfig config;
    private final LlavaProcessorConfig processor;
    private final Backend backend;
    private final Checkpoint checkpoint;
    private final ResidentWeights weights;
    private final Decoder decoder;
    private final Tokenizer tokenizer;
    private final VisualEncoder visualEncoder;
    private final int imageTokenId;
    private final int videoTokenId;
    private final PlaceholderRuns placeholderRuns;

    private LlavaModel(Path folder, LlavaConfig config, LlavaProcessorConfig processor, Backend backend,
                       Checkpoint checkpoint, ResidentWeights weights, Decoder decoder, Tokenizer tokenizer,
                       VisualEncoder visualEncoder) {
        this.folder = folder;
        this.config = config;
        this.processor = processor;
        this.backend = backend;
        this.checkpoint = checkpoint;
        this.weights = weights;
        this.decoder = decoder;
        this.tokenizer = tokenizer;
        this.visualEncoder = visualEncoder;
        this.imageTokenId = config.imageTokenId();
        this.videoTokenId = config.videoTokenId().orElse(-1);
        this.placeholderRuns = PlaceholderRuns.probe(tokenizer, processor.imageToken(), imageTokenId,
                processor.videoToken(), config.isOnevision() ? videoTokenId : -1);
    }

    /**
     * Loads a LLaVA or LLaVA-OneVision checkpoint folder: config.json, *.safetensors (sharded or
     * not, weights under the names transformers 4.x or 5.x use), tokenizer.json (+
     * tokenizer_config.json) and the processor configs.
     */
    public static LlavaModel load(Path folder, Backend backend) {
        LlavaConfig config = LlavaConfig.load(folder.resolve("config.json"));
        LlavaProcessorConfig processor = LlavaProcessorConfig.load(folder, config);
        ImageProcessorConfig imageConfig = ImageProcessorConfig.load(folder);
        boolean anyRes = imageConfig.type() == ImageProcessorType.LLAVA_ONEVISION;
        if (anyRes != config.isOnevision()) {
            throw new ConfigException(folder + ": config.json is " + config.modelType() + " but the image processor is "
                    + imageConfig.type() + " (" + imageConfig.source() + ")");
        }
        Checkpoint checkpoint = Checkpoint.open(folder);
        ResidentWeights weights = new ResidentWeights(backend);
        Tokenizer tokenizer = null;
        Decoder decoder = null;
        try {
            VisionTransformer vision = VisionTransformer.load(weights, checkpoint, config.vision());
            Projector projector = Projector.load(weights, checkpoint, config);
            decoder = Decoder.load(weights, checkpoint, config.text(), WeightNames.resolve(checkpoint));
            weights.logSummary(config.modelType());
            tokenizer = Tokenizer.load(folder);
            float[] newline = config.isOnevision() ? imageNewline(checkpoint, config) : null;
            VisualEncoder encoder = new VisualEncoder(config, processor, backend, vision, projector,
                    ImageProcessor.of(imageConfig), config.isOnevision() ? OnevisionVideoProcessor.load(folder) : null,
                    newline, weights);
            LlavaModel model = new LlavaModel(folder, config, processor, backend, checkpoint, weights, decoder,
                    tokenizer, encoder);
            model.checkPlaceholderTokens();
            LOG.info("{} from {}: {} vision + {} text, image token {}{}", config.architectures(), folder,
                    config.vision().modelType(), config.text().modelType(), config.imageTokenId(),
                    config.videoTokenId().isPresent() ? ", video token " + config.videoTokenId().getAsInt() : "");
            return model;
        } catch (RuntimeException | Error e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            if (decoder != null) {
                decoder.close();
            }
            weights.close();
            checkpoint.close();
            throw e;
        }
    }

    public Path folder() {
        return folder;
    }

    public LlavaConfig config() {
        return config;
    }

    public LlavaProcessorConfig processorConfig() {
        return processor;
    }

    public Decoder decoder() {
        return decoder;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Backend backend() {
        return backend;
    }

    /** Whether a video can be given as a video (LLaVA-OneVision); plain LLaVA takes frames as images. */
    public boolean acceptsVideo() {
        return config.isOnevision();
    }

    /**
     * Tokenizes {@code text} as the HF processor does for these pictures and splices their features in.
     *
     * @param text             the prompt with one image placeholder per image, or one video placeholder for a video
     * @param addSpecialTokens add the tokenizer's post-processor tokens (BOS for Llama), as
     *                         {@code processor(text=...)} does by default
     * @throws IllegalArgumentException when placeholders and pictures do not match
     */
    public PreparedPrompt prepare(String text, VisualInput input, ProjectorInputHook hook, boolean addSpecialTokens) {
        return prepare(text, input, VisualHooks.projector(hook), addSpecialTokens);
    }

    /**
     * As {@link #prepare(String, VisualInput, ProjectorInputHook, boolean)}, with pruning inside the
     * vision tower too ({@code hooks.visionBlocks()}, plain LLaVA only) and the prompt positions
     * {@code hooks.positions()} asks for.
     */
    public PreparedPrompt prepare(String text, VisualInput input, VisualHooks hooks, boolean addSpecialTokens) {
        int images = input instanceof VisualInput.Images i ? i.images().size() : 0;
        int videos = input instanceof VisualInput.Video ? 1 : 0;
        requirePlaceholders(text, processor.imageToken(), images, "image");
        if (config.isOnevision()) {
            requirePlaceholders(text, processor.videoToken(), videos, "video");
        } else if (videos > 0) {
            throw new IllegalArgumentException(config.modelType() + " has no video placeholder; pass the frames as images");
        }
        ProjectorInputHook hook = hooks.projector();
        try (EncodedVisuals visuals = visualEncoder.encode(input, hooks)) {
            int[] ids = placeholderRuns.encode(text, () -> expand(text, visuals), visuals.imageTokens(),
                    config.isOnevision() ? visuals.videoTokens() : 0, addSpecialTokens);
            requireTokens(ids, imageTokenId, Arrays.stream(visuals.imageTokens()).sum(), processor.imageToken());
            if (config.isOnevision()) {
                requireTokens(ids, videoTokenId, visuals.videoTokens(), processor.videoToken());
            }
            int[] positions = hooks.positions() == PositionMode.ORIGINAL ? originalPositions(ids, visuals)
                    : IntStream.range(0, ids.length).toArray();
            Tensor embeddings = splice(ids, visuals);
            int unpruned = config.isOnevision() ? visuals.totalTokens() : visuals.towerTokens();
            return new PreparedPrompt(ids, positions, embeddings, new PreparedPrompt.VisualStats(visuals.totalTokens(), unpruned,
                    visuals.towerTokens(), visuals.visualIn(), visuals.visualKept(), visuals.preprocessNanos(),
                    visuals.visionNanos()), hook::release);
        } catch (RuntimeException | Error e) {
            try {
                hook.release();
            } catch (RuntimeException | Error released) {
                e.addSuppressed(released);
            }
            throw e;
        }
    }

    /** Whether {@link #PREPARE_OVERLAP_PROPERTY} is on for this prepare. */
    static boolean prepareOverlap() {
        String value = System.getProperty(PREPARE_OVERLAP_PROPERTY, "true").trim();
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("-D" + PREPARE_OVERLAP_PROPERTY + " must be true or false, got '" + value + "'");
    }

    /**
     * The picture the vision tower sees for {@code image}, in 8-bit RGB: the patch grid of the
     * pruning trace lies over it (plain LLaVA only).
     */
    public RgbImage modelView(RgbImage image) {
        return visualEncoder.modelView(image);
    }

    /** Each placeholder occurrence, in order, repeated as many times as its picture has feature rows. */
    private String expand(String text, EncodedVisuals visuals) {
        StringBuilder out = new StringBuilder(text.length());
        String image = processor.imageToken();
        String video = processor.videoToken();
        int nextImage = 0;
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith(image, i)) {
                out.append(image.repeat(visuals.imageTokens()[nextImage++]));
                i += image.length();
            } else if (config.isOnevision() && text.startsWith(video, i)) {
                out.append(video.repeat(visuals.videoTokens()));
                i += video.length();
            } else {
                out.append(text.charAt(i++));
            }
        }
        return out.toString();
    }

    /**
     * Each token's position in the prompt the unpruned images would make: image i's placeholders
     * start where the text before them ends, its row r sits at that start plus r's unpruned row
     * ({@link EncodedVisuals#imageOrigins}), and the text after it continues past the image's
     * unpruned placeholder count. Without pruning: 0..T-1.
     */
    private int[] originalPositions(int[] ids, EncodedVisuals visuals) {
        int[] tokens = visuals.imageTokens();
        int[] unpruned = visuals.unprunedImageTokens();
        int[] origins = visuals.imageOrigins();
        int[] positions = new int[ids.length];
        int next = 0;
        int image = 0;
        int row = 0;
        int inImage = 0;
        for (int p = 0; p < ids.length; p++) {
            if (ids[p] != imageTokenId) {
                positions[p] = next++;
                continue;
            }
            positions[p] = next + origins[row++];
            if (++inImage == tokens[image]) {
                next += unpruned[image++];
                inImage = 0;
            }
        }
        return positions;
    }

    /**
     * The input embeddings with feature rows at placeholder positions: the prompt's token
     * embeddings, then each run of placeholders overwritten by the next rows of its features (one
     * device copy per run, one per picture in practice), all on the backend's device. The values of
     * HF's {@code masked_scatter}: F32 rows copied as they are.
     */
    private Tensor splice(int[] ids, EncodedVisuals visuals) {
        Tensor out = decoder.embed(ids);
        try {
            int nextImage = 0;
            int nextVideo = 0;
            for (int p = 0; p < ids.length; ) {
                int id = ids[p];
                if (id != imageTokenId && id != videoTokenId) {
                    p++;
                    continue;
                }
                int end = p;
                while (end < ids.length && ids[end] == id) {
                    end++;
                }
                int rows = end - p;
                if (id == imageTokenId) {
                    backend.copy(visuals.imageFeatures().slice(0, nextImage, nextImage + rows), out.slice(0, p, end));
                    nextImage += rows;
                } else {
                    backend.copy(visuals.videoFeatures().slice(0, nextVideo, nextVideo + rows), out.slice(0, p, end));
                    nextVideo += rows;
                }
                p = end;
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    private static void requirePlaceholders(String text, String placeholder, int given, String what) {
        int found = 0;
        for (int i = text.indexOf(placeholder); i >= 0; i = text.indexOf(placeholder, i + placeholder.length())) {
            found++;
        }
        if (found != given) {
            throw new IllegalArgumentException("the prompt has " + found + " " + placeholder + " placeholder"
                    + (found == 1 ? "" : "s") + " but " + given + " " + what + (given == 1 ? " was" : "s were") + " given");
        }
    }

    private static void requireTokens(int[] ids, int tokenId, int expected, String placeholder) {
        int found = 0;
        for (int id : ids) {
            if (id == tokenId) {
                found++;
            }
        }
        if (found != expected) {
            throw new IllegalArgumentException("the tokenized prompt holds " + found + " " + placeholder + " tokens (id "
                    + tokenId + ") where " + expected + " feature rows go; is " + placeholder
                    + " split by the text around it, or typed in the question?");
        }
    }

    /** The placeholder strings must be single tokens with the ids config.json names. */
    private void checkPlaceholderTokens() {
        checkToken(processor.imageToken(), imageTokenId);
        if (config.isOnevision()) {
            checkToken(processor.videoToken(), videoTokenId);
        }
    }

    private void checkToken(String token, int id) {
        int[] ids = tokenizer.encode(token, false);
        if (ids.length != 1 || ids[0] != id) {
            throw new ConfigException(folder + ": the tokenizer encodes " + token + " as " + Arrays.toString(ids)
                    + " but config.json expects the single token " + id);
        }
    }

    private static float[] imageNewline(Checkpoint checkpoint, LlavaConfig config) {
        String name = checkpoint.has("image_newline") ? "image_newline" : "model.image_newline";
        Tensor t = checkpoint.tensor(name);
        if (t.rank() != 1 || t.dim(0) != config.text().hiddenSize()) {
            throw new ConfigException(checkpoint.folder() + ": '" + name + "' is " + Arrays.toString(t.shape())
                    + ", expected [" + config.text().hiddenSize() + "]");
        }
        return t.toFloatArray();
    }

    @Override
    public void close() {
        visualEncoder.close();
        tokenizer.close();
        decoder.close();
        weights.close();
        checkpoint.close();
    }
}
