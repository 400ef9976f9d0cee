package dev.glimpse.app.serve;

import dev.glimpse.app.QuotaRequest;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;

/**
 * What the service asks of the model: an answer ({@code VisionLanguageModel::ask}) and, for
 * {@code prune=quota}, the QuoTA plan of a video's frame budgets, which runs the model too. An
 * interface so that the service's admission and shutdown behaviour can be tested with a model call
 * that blocks on cue.
 */
interface Captioner {

    Answer caption(Media media, String question, AskOptions options);

    /** As {@code glimpse ask --prune quota}: {@code options} already carry the plan of {@link QuotaRequest#stages}. */
    QuotaRequest planQuota(Media.VideoFile video, String question, TokenBudget budget, AskOptions options);

    /** The loaded model itself. */
    static Captioner of(VisionLanguageModel vlm) {
        return new Captioner() {
            @Override
            public Answer caption(Media media, String question, AskOptions options) {
                return vlm.ask(media, question, options);
            }

            @Override
            public QuotaRequest planQuota(Media.VideoFile video, String question, TokenBudget budget,
                                          AskOptions options) {
                return QuotaRequest.plan(vlm, video, question, budget, options);
            }
        };
    }
}
