package dev.glimpse.evalharness.run;

import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.generate.GenerationOptions;

/**
 * The Java runtime as the model under test: the question is asked as the benchmark words it
 * (chat template of the checkpoint, no prompt suffix), decoded greedily up to
 * {@code maxNewTokens} tokens or the checkpoint's eos, whatever its generation_config says about
 * sampling.
 */
public final class RuntimeAnswerer implements Answerer {

    /** lmms-eval's generation length for short-answer QA. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;

    private final VisionLanguageModel model;
    private final AskOptions options;

    public RuntimeAnswerer(VisionLanguageModel model, int maxNewTokens) {
        this.model = model;
        this.options = AskOptions.defaults().withMaxNewTokens(maxNewTokens).withGeneration(
                GenerationOptions.greedy(maxNewTokens).withEosTokenIds(model.llava().config().text().eosTokenIds()));
    }

    @Override
    public Outcome answer(Media media, String question, PruningPlan plan, PositionMode positions) {
        AskOptions asked = options.withPruning(plan);
        return Outcome.of(model.ask(media, question, positions == null ? asked : asked.withPositions(positions)));
    }
}
