package dev.glimpse.evalharness.run;

import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.decoder.PositionMode;

/** Answers one benchmark question under a pruning plan: the model under test. */
@FunctionalInterface
public interface Answerer {

    /**
     * @param positions positions of the tokens {@code plan} keeps, or null for each stage's default
     */
    Outcome answer(Media media, String question, PruningPlan plan, PositionMode positions);
}
