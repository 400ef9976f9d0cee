package dev.glimpse.evalharness.run;

import dev.glimpse.vlmruntime.api.Answer;

/**
 * What one question cost and returned.
 *
 * @param text              the generated answer
 * @param visualTokens      visual tokens of the prompt without pruning
 * @param visualTokensKept  visual tokens the decoder processed, averaged over its layers
 * @param flopsRatio        prefill FLOPs over the unpruned prompt's
 * @param latencyMs         end-to-end time of the call (media decoding to the last token, with any planning
 *                          before it)
 */
public record Outcome(String text, int visualTokens, double visualTokensKept, double flopsRatio, double latencyMs) {

    /** The outcome of a runtime answer. */
    public static Outcome of(Answer answer) {
        return of(answer, 0);
    }

    /**
     * The outcome of a runtime answer that needed {@code planningNanos} before it (e.g. QuoTA's
     * decoding, query decoupling and frame scoring), counted into the latency.
     */
    public static Outcome of(Answer answer, long planningNanos) {
        return new Outcome(answer.text(), answer.prefill().visualTokensIn(), answer.prefill().averageVisualTokens(),
                answer.prefill().flopsRatio(), (answer.timings().totalNanos() + planningNanos) / 1e6);
    }
}
