package dev.glimpse.queryplanner;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.budget.QuotaAssignment;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * QuoTA's query planner (PAPERS.md, QuoTA steps 2-4): decouples the question into objects
 * ({@link QueryDecoupler}), scores every sampled frame against them ({@link FrameScorer}), and
 * splits the video's total budget N by {@link QuotaAssignment}: {@code n_t = floor(N w_t)},
 * {@code w_t} proportional to {@code (100 p_t)^2}. Frames with {@code n_t = 0} are dropped.
 *
 * <p>N comes from {@code --budget}: a count or percentage is the baseline per frame, so N is
 * that times the frames (the paper's N = 64 frames x 196); {@code N/video} is N itself. A frame
 * resized to its share (QuoTA's default bilinear resize, v1) takes {@code n_t} uncapped, as the
 * reference does: a frame may be resized up. A frame that keeps its share by selecting tokens of
 * its own grid cannot keep more than the grid, so there {@code n_t} is capped at the grid's token
 * count and what a cap cuts goes to the other frames ({@link #allocate}, the reference's capped
 * variants). The budgets sum to at most N.
 *
 * <p>{@link #prepare} plans a video question and readies it for {@link VisionLanguageModel#ask}
 * with the video decoded once: the frames it scores are the frames the answer sees.
 *
 * <p>Plain LLaVA only: LLaVA-OneVision pools every frame's full grid, so per-frame budgets cannot
 * apply (the runtime refuses them).
 */
public final class QuotaPlanner {

    private static final Logger LOG = LoggerFactory.getLogger(QuotaPlanner.class);

    private final QueryDecoupler decoupler;
    private final FrameScorer scorer;
    private final VisionLanguageModel vlm;
    private final int tokensPerFrame;

    /** A planner that decouples and scores with {@code vlm} itself (PAPERS.md: the same model is fine). */
    public QuotaPlanner(VisionLanguageModel vlm) {
        this(vlm, QueryDecoupler.of(vlm));
    }

    /** A planner with its own decoupler (e.g. another language model) and {@code vlm} scoring frames. */
    public QuotaPlanner(VisionLanguageModel vlm, QueryDecoupler decoupler) {
        LlavaConfig config = vlm.llava().config();
        if (config.isOnevision()) {
            throw new IllegalArgumentException("--prune quota needs a plain LLaVA checkpoint: LLaVA-OneVision pools "
                    + "every frame's full grid, so per-frame budgets cannot apply");
        }
        this.vlm = vlm;
        this.decoupler = decoupler;
        this.scorer = new FrameScorer(vlm);
        this.tokensPerFrame = config.vision().numPatches();
    }

    /**
     * Plans {@code video} (a video file or its sampled frames) for {@code question} under
     * {@code options}, whose pruning plan holds the budget and the stage that keeps each frame's
     * share ({@link QuotaPrune#plan}): the video's frames are decoded once, sampled exactly as
     * {@link VisionLanguageModel#ask} samples them, scored, and handed back as the video to ask
     * about with the planner's frame budgets in the options.
     *
     * @throws IllegalArgumentException when {@code video} is not a video or the options lack a budget or
     *                                  a per-frame stage (one-line messages)
     */
    public PlannedAsk prepare(Media video, String question, AskOptions options) {
        if (!video.isVideo()) {
            throw new IllegalArgumentException("--prune quota plans the frames of a video; use --video FILE");
        }
        PruningStrategy within = options.pruning().frameReduction().orElseThrow(() -> new IllegalArgumentException(
                "--prune quota needs a stage that keeps each frame's share (bilinear, uniform, vtc-cls or random)"));
        TokenBudget budget = options.pruning().budget();
        if (budget == null) {
            throw new IllegalArgumentException("--prune quota needs --budget: " + TokenBudget.FORMS);
        }
        Media.VideoFrames frames = new Media.VideoFrames(vlm.pictures(video));
        QuotaPlan plan = plan(frames.frames(), question, budget, within instanceof TokenSelector);
        return new PlannedAsk(plan, frames, options.withFrameBudgets(plan.budgets()));
    }

    /**
     * Plans the given frames of one video.
     *
     * @param capped whether each frame's share is capped at its own tokens (a selector keeps it) or
     *               not (QuoTA's bilinear resize)
     */
    public QuotaPlan plan(List<RgbImage> frames, String question, TokenBudget budget, boolean capped) {
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("QuoTA needs at least one frame to plan");
        }
        int[] nativeTokens = new int[frames.size()];
        Arrays.fill(nativeTokens, tokensPerFrame);
        int total = (int) Math.min(Integer.MAX_VALUE, budget.perFrame(nativeTokens).total());
        long t0 = System.nanoTime();
        QueryDecoupler.Decoupling decoupling = decoupler.decouple(question);
        long t1 = System.nanoTime();
        String text = FrameScorer.question(decoupling.objects(), question);
        FrameScorer.Scores scores = scorer.score(frames, text);
        long t2 = System.nanoTime();
        double[] p = scores.probabilities();
        int[] n = allocate(p, total, capped ? tokensPerFrame : Integer.MAX_VALUE);
        if (Arrays.stream(n).allMatch(v -> v == 0)) {
            throw new IllegalArgumentException("--budget " + budget + " gives " + total + " tokens for "
                    + frames.size() + " frames; QuoTA's floor(N w_t) leaves every frame at 0: raise --budget");
        }
        QuotaPlan plan = new QuotaPlan(decoupling.objects(), decoupling.replies(), text, scores.answerTokenId(), p,
                QuotaAssignment.weights(p), total, n, capped, t1 - t0, t2 - t1);
        LOG.info("quota: objects {}, {} of {} frames kept, {} of {} tokens, planned in {} ms",
                plan.objects().isEmpty() ? "(none: scored against the question)" : plan.objects(),
                frames.size() - plan.droppedFrames().length, frames.size(), Arrays.stream(n).sum(), total,
                (t2 - t0) / 1_000_000);
        return plan;
    }

    /**
     * QuoTA's allocation {@code n_t = floor(N w_t)} capped at {@code tokensPerFrame} per frame
     * ({@link Integer#MAX_VALUE}: uncapped, the floor rule alone), with what a cap cuts handed on:
     * the frames at their cap are fixed and the rest of N is allocated again over the other frames
     * of nonzero weight by the same rule, until no share exceeds its cap (the capped
     * variants of PAPERS.md redistribute). Frames left at 0 are dropped; the sum is at most N. All
     * probabilities 0 count as equal, as {@link QuotaAssignment} does.
     */
    static int[] allocate(double[] probabilities, int total, int tokensPerFrame) {
        int frames = probabilities.length;
        boolean allZero = Arrays.stream(probabilities).allMatch(p -> p == 0);
        double[] p = allZero ? filled(frames, 1.0) : probabilities.clone();
        int[] n = new int[frames];
        boolean[] capped = new boolean[frames];
        int left = total;
        while (left > 0) {
            int[] open = IntStream.range(0, frames).filter(t -> !capped[t] && p[t] > 0).toArray();
            if (open.length == 0) {
                break;
            }
            int[] share = QuotaAssignment.allocate(Arrays.stream(open).mapToDouble(t -> p[t]).toArray(), left);
            boolean anyCapped = false;
            for (int i = 0; i < open.length; i++) {
                if (share[i] >= tokensPerFrame) {
                    capped[open[i]] = true;
                    n[open[i]] = tokensPerFrame;
                    left -= tokensPerFrame;
                    anyCapped = true;
                }
            }
            if (!anyCapped) {
                for (int i = 0; i < open.length; i++) {
                    n[open[i]] = share[i];
                }
                break;
            }
        }
        return n;
    }

    private static double[] filled(int length, double value) {
        double[] out = new double[length];
        Arrays.fill(out, value);
        return out;
    }
}
