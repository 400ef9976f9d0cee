package dev.glimpse.app.serve;

import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;

/**
 * What the service asks of the model: {@code VisionLanguageModel::ask}. An interface so that the
 * service's admission and shutdown behaviour can be tested with a model call that blocks on cue.
 */
@FunctionalInterface
interface Captioner {

    Answer caption(Media media, String question, AskOptions options);
}
