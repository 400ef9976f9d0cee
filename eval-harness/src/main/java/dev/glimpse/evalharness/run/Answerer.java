package dev.glimpse.evalharness.run;

import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.Media;

/** Answers one benchmark question under a pruning plan: the model under test. */
@FunctionalInterface
public interface Answerer {

    Outcome answer(Media media, String question, PruningPlan plan);
}
