package dev.glimpse.app;

import dev.glimpse.queryplanner.QuotaPlan;
import dev.glimpse.queryplanner.QuotaPlanner;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.NoPruning;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code --prune quota} in a command or a {@code glimpse serve} request: the QuoTA planner scores
 * the video's frames for the question with the loaded model, and its per-frame allocation replaces
 * the even split of the budget when the model is then asked ({@link AskOptions#withFrameBudgets}).
 * The rules of the name (a budget is needed; each frame's share is kept by a selector) live here so
 * that {@code ask}, {@code explain} and the service refuse the same requests with the same words.
 *
 * @param plan    what the planner decided
 * @param options the request's options with the planner's frame budgets
 */
public record QuotaRequest(QuotaPlan plan, AskOptions options) {

    /** The {@code --prune} name of the QuoTA query planner. */
    public static final String NAME = "quota";
    /** What keeps each frame's share when no selector is named with quota: a linspace grid subsample. */
    static final String DEFAULT_SELECTOR = "uniform";

    /** Whether {@code prune} (stage names joined by '+') names {@value #NAME}. */
    public static boolean isNamedIn(String prune) {
        return Arrays.stream(prune.split("\\+", -1)).anyMatch(n -> n.strip().equalsIgnoreCase(NAME));
    }

    /**
     * The stages that run with {@value #NAME} in {@code prune}: the others it names, with a
     * pre-projector selector to keep each frame's share ({@value #DEFAULT_SELECTOR} unless one is
     * named). An IllegalArgumentException when {@code budget} is null or a pre-projector stage is
     * no selector.
     */
    public static String stages(String prune, TokenBudget budget) {
        if (budget == null) {
            throw new IllegalArgumentException("--prune quota needs --budget: the tokens per frame before QuoTA "
                    + "redistributes them (e.g. 64), or the video's total (e.g. 1024/video)");
        }
        List<String> kept = new ArrayList<>(Arrays.stream(prune.split("\\+", -1)).map(String::strip)
                .filter(n -> !n.equalsIgnoreCase(NAME)).toList());
        List<PruningStrategy> preProjector = kept.stream().map(PruningStrategy::byName)
                .filter(s -> s.hookPoint() == HookPoint.PRE_PROJECTOR && !(s instanceof NoPruning)).toList();
        preProjector.stream().filter(s -> !(s instanceof TokenSelector)).findFirst().ifPresent(s -> {
            throw new IllegalArgumentException("--prune quota keeps each frame's share with a selector (uniform, "
                    + "vtc-cls or random), not " + s.name());
        });
        if (preProjector.isEmpty()) {
            kept.add(0, DEFAULT_SELECTOR);
        }
        return String.join("+", kept);
    }

    /** Plans {@code input} (a video) for {@code question}; {@code options} must already carry the pruning plan. */
    static QuotaRequest plan(VisionLanguageModel vlm, Media input, String question, PruningOptions pruning,
                             AskOptions options) {
        if (!(input instanceof Media.VideoFile video)) {
            throw new IllegalArgumentException("--prune quota plans the frames of a video; use --video FILE");
        }
        return plan(vlm, video, question, pruning.budget(), options);
    }

    /**
     * Plans {@code video}'s frames for {@code question}, splitting {@code budget} (per frame, a share,
     * or the video's total); {@code options} must already carry the plan of {@link #stages}.
     */
    public static QuotaRequest plan(VisionLanguageModel vlm, Media.VideoFile video, String question,
                                    TokenBudget budget, AskOptions options) {
        QuotaPlan plan = new QuotaPlanner(vlm).plan(video, question, budget);
        return new QuotaRequest(plan, options.withFrameBudgets(plan.budgets()));
    }

    /** The plan's name as {@code --prune} spells it: "quota+" and the stages that ran. */
    static String describe(String stages) {
        return NAME + "+" + stages;
    }

    /** {@code trace} with the planner's {@code p_t} on its pre-projector stage (the one that took the budgets). */
    PruningTrace withFrameScores(PruningTrace trace) {
        List<PruningTrace.Stage> stages = trace.stages().stream()
                .map(s -> s.hookPoint() == HookPoint.PRE_PROJECTOR ? s.withFrameScores(plan.probabilities()) : s)
                .toList();
        return new PruningTrace(stages);
    }

    /**
     * Puts the plan into {@code json}, the {@link AnswerJson} object of the answer {@code a} it planned:
     * the plan's name as "quota+" and its stages, the plan itself under {@code pruning.quota}, and with
     * {@code withTrace} the frames' {@code p_t} on the trace's pre-projector stage.
     */
    @SuppressWarnings("unchecked")
    public void addTo(Map<String, Object> json, Answer a, boolean withTrace) {
        Map<String, Object> pruning = (Map<String, Object>) json.get("pruning");
        pruning.put("plan", describe(a.pruning().plan()));
        pruning.put("quota", plan.toMap());
        if (withTrace) {
            json.put("trace", withFrameScores(a.pruning().trace()));
        }
    }
}
