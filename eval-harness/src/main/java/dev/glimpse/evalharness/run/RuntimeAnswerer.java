package dev.glimpse.evalharness.run;

import dev.glimpse.queryplanner.PlannedAsk;
import dev.glimpse.queryplanner.QuotaPlanner;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.generate.GenerationOptions;

/**
 * The Java runtime as the model under test: the question is asked as the benchmark words it
 * (chat template of the checkpoint, no prompt suffix), decoded greedily up to
 * {@code maxNewTokens} tokens or the checkpoint's eos, whatever its generation_config says about
 * sampling.
 *
 * <p>Under the QuoTA planner ({@link EvalConfig#quota}) a clip is planned as {@code glimpse ask
 * --prune quota} plans it ({@link QuotaPlanner#prepare}: decoded once, the question decoupled,
 * each frame scored, the budget split by {@code (100 p_t)^2}) and answered with the planner's frame
 * budgets; the planning time counts into the latency. An image is a one-frame video, whose whole
 * budget QuoTA would give to its one frame, so it is answered without planning, with the
 * configuration's stage at that budget (a {@code N/video} total as a count of N).
 */
public final class RuntimeAnswerer implements Answerer {

    /** lmms-eval's generation length for short-answer QA. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;

    private final VisionLanguageModel model;
    private final AskOptions options;
    private QuotaPlanner planner;

    public RuntimeAnswerer(VisionLanguageModel model, int maxNewTokens) {
        this.model = model;
        this.options = AskOptions.defaults().withMaxNewTokens(maxNewTokens).withGeneration(
                GenerationOptions.greedy(maxNewTokens).withEosTokenIds(model.llava().config().text().eosTokenIds()));
    }

    @Override
    public Outcome answer(Media media, String question, EvalConfig config) {
        AskOptions asked = options.withPruning(config.plan());
        if (config.positions() != null) {
            asked = asked.withPositions(config.positions());
        }
        if (!config.quota()) {
            return Outcome.of(model.ask(media, question, asked));
        }
        if (!media.isVideo()) {
            return Outcome.of(model.ask(media, question, asked.withPruning(oneFrame(config.plan()))));
        }
        long t0 = System.nanoTime();
        PlannedAsk planned = planner().prepare(media, question, asked);
        long planning = System.nanoTime() - t0;
        return Outcome.of(model.ask(planned.video(), question, planned.options()), planning);
    }

    /** {@code plan} for a one-frame video: a video total becomes a count for the frame. */
    private static PruningPlan oneFrame(PruningPlan plan) {
        return plan.budget() instanceof TokenBudget.VideoTotal total
                ? new PruningPlan(plan.stages(), TokenBudget.count(total.tokens())) : plan;
    }

    private QuotaPlanner planner() {
        if (planner == null) {
            planner = new QuotaPlanner(model);
        }
        return planner;
    }
}
