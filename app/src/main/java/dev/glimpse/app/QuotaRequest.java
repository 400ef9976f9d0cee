package dev.glimpse.app;

import dev.glimpse.queryplanner.PlannedAsk;
import dev.glimpse.queryplanner.QuotaPlan;
import dev.glimpse.queryplanner.QuotaPlanner;
import dev.glimpse.queryplanner.QuotaPrune;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;

import java.util.List;
import java.util.Map;

/**
 * {@code --prune quota} in a command or a {@code glimpse serve} request: the QuoTA planner scores
 * the video's frames for the question with the loaded model ({@link QuotaPlanner#prepare}), and its
 * per-frame allocation replaces the even split of the budget when the model is then asked about
 * {@link #video}, the frames it scored: the video is decoded once. Public so that the service plans
 * and reports quota exactly as {@code ask} does.
 *
 * @param plan    what the planner decided
 * @param video   the sampled frames, to ask about in place of the video file
 * @param options the request's options with the planner's frame budgets
 */
public record QuotaRequest(QuotaPlan plan, Media video, AskOptions options) {

    /**
     * Plans {@code input} (a video) for {@code question}; {@code options} must already carry the
     * pruning plan of {@link QuotaPrune#plan}. An IllegalArgumentException when {@code input} is no
     * video or the planner cannot split the budget; a media exception when the video does not decode.
     */
    public static QuotaRequest plan(VisionLanguageModel vlm, Media input, String question, AskOptions options) {
        PlannedAsk planned = new QuotaPlanner(vlm).prepare(input, question, options);
        return new QuotaRequest(planned.plan(), planned.video(), planned.options());
    }

    /** The plan's name as {@code --prune} spells it: "quota+" and the stages that ran. */
    static String describe(String stages) {
        return QuotaPrune.NAME + "+" + stages;
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
