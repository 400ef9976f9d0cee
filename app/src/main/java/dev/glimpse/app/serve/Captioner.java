package dev.glimpse.app.serve;

import dev.glimpse.app.QuotaRequest;
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

    /**
     * As {@code glimpse ask --prune quota}: {@code options} already carry the plan of
     * {@code QuotaPrune.plan} (its budget split by the planner); the answer is then asked about the
     * returned {@link QuotaRequest#video}, the frames the planner decoded.
     */
    QuotaRequest planQuota(Media video, String question, AskOptions options);

    /** The loaded model itself. */
    static Captioner of(VisionLanguageModel vlm) {
        return new Captioner() {
            @Override
            public Answer caption(Media media, String question, AskOptions options) {
                return vlm.ask(media, question, options);
            }

            @Override
            public QuotaRequest planQuota(Media video, String question, AskOptions options) {
                return QuotaRequest.plan(vlm, video, question, options);
            }
        };
    }
}
