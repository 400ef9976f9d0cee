package dev.glimpse.evalharness.run;

import dev.glimpse.vlmruntime.api.Media;

/** Answers one benchmark question under a configuration: the model under test. */
@FunctionalInterface
public interface Answerer {

    /**
     * @param config the pruning configuration: its plan, positions (null for each stage's default)
     *               and whether the QuoTA planner allots the budget over a clip's frames first
     */
    Outcome answer(Media media, String question, EvalConfig config);
}
