package dev.glimpse.app;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.visionencoder.BlockPruningHook;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.KeepSet;
import dev.glimpse.visionencoder.LayerTaps;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTaps;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.config.VisionConfig;
import dev.glimpse.visionencoder.preprocess.ImageProcessor;
import dev.glimpse.visionencoder.preprocess.ImageProcessorConfig;
import dev.glimpse.visionencoder.preprocess.ProcessedImage;
import dev.glimpse.vlmruntime.config.LlavaConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * AS-ViT stage scores of a LLaVA checkpoint's vision tower, for {@code glimpse eval calibrate-as-vit}:
 * the tower and image processor alone (no projector, no decoder), an image preprocessed as the
 * model's processor does, and at one block the score {@code s_j} that {@code --prune as-vit}
 * thresholds there, computed by the same code ({@link AdaptiveSparseVitPolicy#scores}) from the
 * same taps ([CLS] attention and head-output norms). The pass may be pruned at earlier stage
 * blocks by a policy, as a pruned request prunes them, so that a stage's scores are those it will
 * see behind the earlier stages.
 */
final class AsVitStageScores implements AutoCloseable {

    private static final EnumSet<VisionTaps.Tap> TAPS = EnumSet.of(VisionTaps.Tap.CLS_ATTENTION,
            VisionTaps.Tap.HEAD_OUTPUT_NORMS);

    private final Backend backend;
    private final Checkpoint checkpoint;
    private final VisionTransformer tower;
    private final ImageProcessor processor;
    private final TokenGrid grid;
    private final int featureState;

    private AsVitStageScores(Backend backend, Checkpoint checkpoint, VisionTransformer tower, ImageProcessor processor,
                             int featureState) {
        this.backend = backend;
        this.checkpoint = checkpoint;
        this.tower = tower;
        this.processor = processor;
        int side = tower.config().patchesPerSide();
        this.grid = new TokenGrid(side, side);
        this.featureState = featureState;
    }

    /**
     * Opens the vision tower of the LLaVA checkpoint in {@code model}.
     *
     * @throws IllegalArgumentException when the model cannot run AS-ViT (LLaVA-OneVision, no [CLS])
     */
    static AsVitStageScores open(Path model, Backends.Choice device) {
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new ConfigException(model + ": no config.json; not a Hugging Face LLaVA checkpoint folder");
        }
        LlavaConfig config = LlavaConfig.load(model.resolve("config.json"));
        VisionConfig vision = config.vision();
        if (config.isOnevision()) {
            throw new IllegalArgumentException(model + " is LLaVA-OneVision, which as-vit does not prune (its anyres "
                    + "packing and video pooling need every token of the grid)");
        }
        if (!vision.hasClassToken()) {
            throw new IllegalArgumentException(model + ": as-vit scores tokens by [CLS] attention and this "
                    + vision.modelType() + " tower has no [CLS]");
        }
        int featureState = Arrays.stream(FeatureSelection.of(config.visionFeatureLayers(),
                config.visionFeatureSelectStrategy()).resolve(vision.numHiddenLayers())).max().orElseThrow();
        ImageProcessor processor = ImageProcessor.of(ImageProcessorConfig.load(model));
        Backend backend = Backends.create(device);
        Checkpoint checkpoint = null;
        try {
            checkpoint = Checkpoint.open(model);
            return new AsVitStageScores(backend, checkpoint, VisionTransformer.load(backend, checkpoint, vision),
                    processor, featureState);
        } catch (RuntimeException | Error e) {
            if (checkpoint != null) {
                checkpoint.close();
            }
            backend.close();
            throw e;
        }
    }

    /** The patch grid scores are placed on. */
    TokenGrid grid() {
        return grid;
    }

    /**
     * The hidden state LLaVA's projector reads (the deepest of {@code vision_feature_layer}, as an
     * index of HF's {@code hidden_states}: the output of block {@code featureState - 1}).
     */
    int featureState() {
        return featureState;
    }

    /**
     * {@code s_j} after {@code block} for one image, on the original patch grid (NaN for patches
     * {@code earlier} dropped).
     *
     * @param earlier prunes at its stage blocks, all before {@code block}; null for an unpruned pass
     */
    float[] at(RgbImage image, int block, AdaptiveSparseVitPolicy earlier) {
        VisionRequest request = new VisionRequest(null, false, false, false, VisionTaps.of(TAPS, block),
                earlier == null ? null : new StagePruning(earlier));
        try (ProcessedImage processed = processor.process(image)) {
            Tensor pixels = processed.pixelValues();
            Tensor batch = pixels.reshape(1, pixels.dim(0), pixels.dim(1), pixels.dim(2));
            Tensor onDevice = backend.upload(batch);
            try (VisionOutput out = tower.encode(onDevice, request)) {
                EncodedImage encoded = out.image(0);
                LayerTaps taps = encoded.taps().get(block);
                float[] scores = AdaptiveSparseVitPolicy.scores(backend, taps.clsAttention(), taps.headOutputNorms());
                return AdaptiveSparseVitPolicy.onGrid(grid, taps.tokens(), scores);
            } finally {
                if (onDevice != batch) {
                    onDevice.close();
                }
            }
        }
    }

    @Override
    public void close() {
        checkpoint.close();
        backend.close();
    }

    /** The already-fitted stages: after each of their blocks the policy's kept rows go on. */
    private final class StagePruning implements BlockPruningHook {

        private final AdaptiveSparseVitPolicy policy;

        StagePruning(AdaptiveSparseVitPolicy policy) {
            this.policy = policy;
        }

        @Override
        public VisionTaps taps() {
            return VisionTaps.of(TAPS, policy.tapBlocks());
        }

        @Override
        public KeepSet afterBlock(BlockOutput block) {
            if (!policy.isStage(block.layer())) {
                return KeepSet.all();
            }
            return KeepSet.rows(policy.keepRows(backend, block.layer(), block.taps().clsAttention(),
                    block.taps().headOutputNorms(), block.hasClassToken()));
        }
    }
}
