package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AveragePooling;
import dev.glimpse.tokenpruning.BilinearInterpolation;
import dev.glimpse.tokenpruning.DecoderTokenPruner;
import dev.glimpse.tokenpruning.FastVSelector;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.config.VisionConfig;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.decoder.PruningHook;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * One request's {@link PruningPlan} wired to the model's hook points (ARCHITECTURE.md):
 * <ol>
 *   <li>{@code as-vit} between the vision tower's blocks ({@link VisionBlockPruning});</li>
 *   <li>{@code vtc-cls}, {@code random}, {@code uniform}, {@code pool} before the projector
 *       ({@link PreProjectorPruning}), each image or frame with its share of {@code --budget};
 *       {@code bilinear} at the same hook point, on the projector's output
 *       ({@link BilinearFrameResize});</li>
 *   <li>{@code fastv}, {@code spatten}, {@code atp} at decoder layers during prefill
 *       ({@link DecoderLayerPruning}) over the prompt's visual placeholder positions.</li>
 * </ol>
 * Use: {@link #visualHooks()} for {@code LlavaModel.prepare}, then {@link #decoderHook} with the
 * prepared prompt for the prefill, then {@link #trace()}.
 *
 * <p>Rules, checked up front with one-line messages:
 * <ul>
 *   <li>a pre-projector selector or {@code bilinear} needs {@code --budget}; a {@code --budget} no
 *       stage takes (pool, spatten, atp and as-vit take none: pooling is fixed 2x2, the others adapt)
 *       is refused;</li>
 *   <li>LLaVA-OneVision takes decoder stages only: its anyres packing and video pooling need every
 *       token of the grid, so pruning inside the tower or before the projector is refused (the
 *       documented alternative is pruning the packed tokens inside the decoder);</li>
 *   <li>{@code as-vit} needs a [CLS] tower and does not combine with a pre-projector stage (those
 *       score the full grid); its stage blocks must run before the feature layer;</li>
 *   <li>VTC-CLS's start layer (16, for LLaVA-1.5's 24-layer tower) beyond a shallower tower's
 *       penultimate layer starts at that penultimate layer (FasterVLM's single-layer reading).</li>
 * </ul>
 * Decoder stages see the visual tokens as the patch-grid cells they came from (plain LLaVA), or,
 * for LLaVA-OneVision whose packed tokens (tiles, newlines, pooled frames) form no single grid,
 * as one 1 x n row in prompt order.
 *
 * <p>Positions ({@link PositionMode}, {@code --positions}): one setting for every stage of the
 * request, or when none is given each stage's default: before the LLM
 * {@link #DEFAULT_PROMPT_POSITIONS} (pruned placeholders leave the prompt, which is numbered
 * 0..T-1, as VTC-CLS's reference code does), inside the decoder {@link #DEFAULT_DECODER_POSITIONS}
 * (as FastV-derived code and TensorRT-Edge-LLM do). {@link PositionMode#ORIGINAL} before the LLM
 * gives each kept token, and every text token, its position in the unpruned prompt. Frames a
 * per-frame allocation drops entirely are not in the prompt at all (neither image part nor
 * placeholders), so they leave no gap in either mode.
 */
public final class RequestPruning {

    private static final Logger LOG = LoggerFactory.getLogger(RequestPruning.class);

    /** Prompt positions after pruning before the LLM when none are asked for. */
    public static final PositionMode DEFAULT_PROMPT_POSITIONS = PositionMode.CONTIGUOUS;
    /** Positions of tokens kept inside the decoder when none are asked for. */
    public static final PositionMode DEFAULT_DECODER_POSITIONS = PositionMode.ORIGINAL;

    private final PruningPlan plan;
    private final Backend backend;
    private final LlavaConfig config;
    private final TokenGrid grid;
    private final VisionBlockPruning visionBlocks;
    private final PreProjectorStage preProjector;
    private final VisualInput input;
    private final PositionMode positions;
    private final int droppedFrames;
    private DecoderLayerPruning decoder;

    private RequestPruning(PruningPlan plan, Backend backend, LlavaConfig config, TokenGrid grid,
                           VisionBlockPruning visionBlocks, PreProjectorStage preProjector, VisualInput input,
                           PositionMode positions, int droppedFrames) {
        this.plan = plan;
        this.droppedFrames = droppedFrames;
        this.positions = positions;
        this.input = input;
        this.backend = backend;
        this.config = config;
        this.grid = grid;
        this.visionBlocks = visionBlocks;
        this.preProjector = preProjector;
    }

    /**
     * Checks {@code plan} against the model and input and makes the request's hooks.
     *
     * @throws IllegalArgumentException when the plan cannot run on this model or input (the message says why)
     */
    public static RequestPruning of(PruningPlan plan, Backend backend, LlavaConfig config, VisualInput input) {
        return of(plan, backend, config, input, input instanceof VisualInput.Video, null);
    }

    /**
     * As {@link #of(PruningPlan, Backend, LlavaConfig, VisualInput)}, for an input that may be the
     * sampled frames of a video (plain LLaVA takes them as images, so {@code video} says which
     * they are) and an optional per-frame allocation.
     * <ul>
     *   <li>{@code --budget N/video} is split over the frames evenly ({@link TokenBudget#perFrame});
     *       on images it is refused;</li>
     *   <li>{@code frameBudgets} (e.g. QuoTA's allocation) replaces that split; it needs a
     *       pre-projector selector (each share at most the frame's tokens) or {@code bilinear} (any
     *       share: a frame may be resized up) on plain LLaVA and one entry per frame. Frames given 0 are dropped
     *       entirely: {@link #input()} leaves them out, so neither their tokens nor their placeholders
     *       reach the prompt; the trace lists them with budget 0 and nothing kept.</li>
     * </ul>
     *
     * @param video        whether {@code input}'s pictures are the frames of one video
     * @param frameBudgets tokens per frame, or null for the plan's budget
     */
    public static RequestPruning of(PruningPlan plan, Backend backend, LlavaConfig config, VisualInput input,
                                    boolean video, FrameBudgets frameBudgets) {
        return of(plan, backend, config, input, video, frameBudgets, null);
    }

    /**
     * As {@link #of(PruningPlan, Backend, LlavaConfig, VisualInput, boolean, FrameBudgets)}, with the
     * positions of kept tokens at every stage.
     *
     * @param positions {@link PositionMode} of every stage, or null for each stage's default
     *                  ({@link #DEFAULT_PROMPT_POSITIONS} before the LLM, {@link #DEFAULT_DECODER_POSITIONS}
     *                  inside it)
     */
    public static RequestPruning of(PruningPlan plan, Backend backend, LlavaConfig config, VisualInput input,
                                    boolean video, FrameBudgets frameBudgets, PositionMode positions) {
        checkBudget(plan);
        int pictures = switch (input) {
            case VisualInput.Images i -> i.images().size();
            case VisualInput.Video v -> v.frames().size();
        };
        if (plan.budget() instanceof TokenBudget.VideoTotal total && !video && pictures > 0) {
            throw new IllegalArgumentException("--budget " + total + " is a total for a video, but the input is "
                    + pictures + (pictures == 1 ? " image" : " images") + "; give a count per image (e.g. "
                    + Math.max(1, total.tokens() / pictures) + ") or a percentage (e.g. 25%)");
        }
        if (frameBudgets != null) {
            if (!video) {
                throw new IllegalArgumentException("per-frame budgets are for a video; the input is "
                        + (pictures == 1 ? "1 image" : pictures + " images"));
            }
            if (frameBudgets.frames() != pictures) {
                throw new IllegalArgumentException("per-frame budgets give " + frameBudgets.frames() + " frames, but "
                        + pictures + " frames were sampled from the video; give one budget per frame");
            }
            if (plan.frameReduction().isEmpty() || config.isOnevision()) {
                throw new IllegalArgumentException("per-frame budgets need a pre-projector selector or resize (--prune "
                        + "bilinear, vtc-cls, uniform or random) on plain LLaVA" + (config.isOnevision()
                        ? "; LLaVA-OneVision pools every frame's full grid" : ""));
            }
            if (frameBudgets.keptFrames().length == 0) {
                throw new IllegalArgumentException("per-frame budgets " + java.util.Arrays.toString(
                        frameBudgets.tokens()) + " drop every frame; keep at least one token of one frame");
            }
        }
        VisionConfig vision = config.vision();
        TokenGrid grid = new TokenGrid(vision.patchesPerSide(), vision.patchesPerSide());
        Optional<PruningStrategy> pre = plan.at(HookPoint.PRE_PROJECTOR);
        Optional<AdaptiveSparseVitPolicy> asVit = plan.visionPolicy();
        if (config.isOnevision() && (pre.isPresent() || asVit.isPresent())) {
            String name = pre.isPresent() ? pre.get().name() : asVit.get().name();
            throw new IllegalArgumentException("--prune " + name + " is not supported for LLaVA-OneVision: its anyres "
                    + "packing and video pooling need every token of the grid; prune inside the decoder instead "
                    + "(fastv, spatten or atp)");
        }
        VisionBlockPruning blocks = asVit.map(p -> {
            checkAsVit(p, config, pre.isPresent());
            return new VisionBlockPruning(backend, p, grid);
        }).orElse(null);
        PreProjectorStage preProjector = pre.map(s -> preProjector(s, plan.budget(), frameBudgets, backend, vision,
                grid, input)).orElse(null);
        VisualInput kept = input;
        int dropped = frameBudgets == null ? 0 : frameBudgets.droppedFrames().length;
        if (dropped > 0) {
            List<dev.glimpse.kernels.image.RgbImage> frames = ((VisualInput.Images) input).images();
            kept = new VisualInput.Images(Arrays.stream(frameBudgets.keptFrames()).mapToObj(frames::get).toList());
        }
        return new RequestPruning(plan, backend, config, grid, blocks, preProjector, kept, positions, dropped);
    }

    /**
     * The pictures to encode: the input less the frames a per-frame allocation drops (prompt and
     * placeholders are built from these).
     */
    public VisualInput input() {
        return input;
    }

    /** Frames of the video that a per-frame allocation dropped: sampled, but not in {@link #input()}. */
    public int droppedFrames() {
        return droppedFrames;
    }

    /** The plan this request runs. */
    public PruningPlan plan() {
        return plan;
    }

    /** Positions of the prompt's tokens after pruning before the LLM (what {@link #visualHooks} asks for). */
    public PositionMode promptPositions() {
        return positions == null ? DEFAULT_PROMPT_POSITIONS : positions;
    }

    /** Positions of the tokens kept inside the decoder: the session's {@code SessionOptions#positionMode}. */
    public PositionMode decoderPositions() {
        return positions == null ? DEFAULT_DECODER_POSITIONS : positions;
    }

    /** Hooks for the visual encoding: inside the tower and before the projector, with {@link #promptPositions}. */
    public VisualHooks visualHooks() {
        if (visionBlocks == null && preProjector == null) {
            return VisualHooks.NONE;
        }
        return new VisualHooks(visionBlocks, preProjector == null ? VisualHooks.NONE.projector() : preProjector,
                promptPositions());
    }

    /**
     * The decoder hook for the prefill of {@code prepared} (call once, after the visual encoding),
     * or null when the plan prunes nothing inside the decoder.
     */
    public PruningHook decoderHook(PreparedPrompt prepared) {
        Optional<DecoderTokenPruner> pruner = plan.decoderPruner();
        if (pruner.isEmpty()) {
            return null;
        }
        int[] positions = prepared.visualPositions(config.imageTokenId(), config.videoTokenId().orElse(-1));
        decoder = new DecoderLayerPruning(backend, pruner.get().start(visualTokens(positions.length)), positions);
        return decoder;
    }

    /** What every stage that ran kept, in model order. */
    public PruningTrace trace() {
        List<PruningTrace.Stage> stages = new ArrayList<>();
        if (visionBlocks != null) {
            stages.addAll(visionBlocks.traceStages());
        }
        if (preProjector != null) {
            stages.add(preProjector.traceStage());
        }
        if (decoder != null) {
            stages.addAll(decoder.session().traceStages());
        }
        return new PruningTrace(stages);
    }

    /** The visual tokens entering the decoder, as the cells they came from, in prompt order. */
    private List<TokenSelection> visualTokens(int count) {
        List<TokenSelection> frames = preProjector != null ? preProjector.selections()
                : visionBlocks != null ? visionBlocks.survivors() : null;
        if (frames == null && !config.isOnevision()) {
            int images = count / grid.size();
            frames = new ArrayList<>();
            for (int i = 0; i < images; i++) {
                frames.add(TokenSelection.all(i, grid));
            }
        }
        if (frames != null && frames.stream().mapToInt(TokenSelection::count).sum() == count) {
            return frames;
        }
        return count == 0 ? List.of() : List.of(TokenSelection.all(0, new TokenGrid(1, count)));
    }

    /**
     * A frame's bilinear share may exceed its grid (QuoTA gives shares uncapped) but not the whole
     * video's unpruned tokens, which bounds what one frame's resize allocates: QuoTA's N is at most that.
     */
    private static void checkResizedUpAtMostTheVideo(FrameBudgets frameBudgets, TokenGrid grid) {
        long video = (long) grid.size() * frameBudgets.frames();
        for (int t = 0; t < frameBudgets.frames(); t++) {
            if (frameBudgets.tokensFor(t) > video) {
                throw new IllegalArgumentException("per-frame budget " + frameBudgets.tokensFor(t) + " for frame "
                        + (t + 1) + " is more than the video's " + video + " tokens (" + frameBudgets.frames()
                        + " frames of " + grid.size() + "); bilinear resizes a frame up to at most that");
            }
        }
    }

    private static void checkBudget(PruningPlan plan) {
        boolean selector = plan.frameReduction().isPresent();
        boolean fastv = plan.decoderPruner().filter(FastVSelector.class::isInstance).isPresent();
        if (selector && plan.budget() == null) {
            throw new IllegalArgumentException("--prune " + plan.frameReduction().get().name() + " needs --budget: "
                    + TokenBudget.FORMS);
        }
        if (plan.budget() != null && !selector && !fastv) {
            throw new IllegalArgumentException("--budget is not used by --prune " + plan.describe() + " (pool keeps a "
                    + "fixed 2x2 average, spatten follows its schedule, atp and as-vit adapt); leave it out, or add a "
                    + "selector (vtc-cls, uniform, random), bilinear or fastv");
        }
    }

    private static void checkAsVit(AdaptiveSparseVitPolicy policy, LlavaConfig config, boolean withPreProjector) {
        if (withPreProjector) {
            throw new IllegalArgumentException("--prune: as-vit cannot be combined with a pre-projector stage, which "
                    + "scores the full patch grid; combine it with a decoder stage (fastv, spatten, atp)");
        }
        if (!config.vision().hasClassToken()) {
            throw new IllegalArgumentException("--prune as-vit scores tokens by [CLS] attention; this "
                    + config.vision().modelType() + " tower has no [CLS]: use vtc-cls (probe attention) instead");
        }
        int[] states = FeatureSelection.of(config.visionFeatureLayers(), config.visionFeatureSelectStrategy())
                .resolve(config.vision().numHiddenLayers());
        int lastPrunable = Arrays.stream(states).max().orElseThrow() - 2;
        int[] blocks = policy.tapBlocks();
        if (blocks[blocks.length - 1] > lastPrunable) {
            throw new IllegalArgumentException("as-vit stage after block " + blocks[blocks.length - 1] + " never runs: "
                    + "the features come from hidden state " + (lastPrunable + 2) + ", so the last stage block is "
                    + lastPrunable + " (stage blocks in the thresholds file: " + Arrays.toString(blocks) + ")");
        }
    }

    private static PreProjectorStage preProjector(PruningStrategy stage, TokenBudget budget, FrameBudgets frameBudgets,
                                                  Backend backend, VisionConfig vision, TokenGrid grid,
                                                  VisualInput input) {
        int images = input instanceof VisualInput.Images i ? i.images().size() : 0;
        int[] perImage = new int[images];
        Arrays.fill(perImage, grid.size());
        int layers = vision.numHiddenLayers();
        if (stage instanceof AveragePooling pool) {
            FrameBudgets all = new FrameBudgets(perImage);
            return new PreProjectorPruning(backend, null, pool, all, all.keptFrames(), grid, layers,
                    vision.hasClassToken());
        }
        if (stage instanceof BilinearInterpolation) {
            if (frameBudgets != null) {
                checkResizedUpAtMostTheVideo(frameBudgets, grid);
                return new BilinearFrameResize(backend, frameBudgets, frameBudgets.keptFrames(), grid);
            }
            return new BilinearFrameResize(backend, budget.perFrame(perImage), IntStream.range(0, images).toArray(), grid);
        }
        TokenSelector selector = (TokenSelector) stage;
        if (selector instanceof VtcClsSelector vtc && vision.hasClassToken() && vtc.startLayer() > layers - 2) {
            selector = new VtcClsSelector(Math.max(0, layers - 2));
            LOG.info("vtc-cls: start layer {} is past the penultimate layer of this {}-layer tower; starting at {}",
                    vtc.startLayer(), layers, Math.max(0, layers - 2));
        }
        FrameBudgets budgets = budget.perFrame(perImage);
        int[] frameOf = IntStream.range(0, images).toArray();
        if (frameBudgets != null) {
            int[] given = frameBudgets.tokens();
            for (int t = 0; t < given.length; t++) {
                if (given[t] > grid.size()) {
                    throw new IllegalArgumentException("per-frame budget " + given[t] + " for frame " + (t + 1)
                            + " is more than its " + grid.size() + " tokens");
                }
            }
            budgets = frameBudgets;
            frameOf = frameBudgets.keptFrames();
        }
        return new PreProjectorPruning(backend, selector, null, budgets, frameOf, grid, layers,
                vision.hasClassToken());
    }
}
