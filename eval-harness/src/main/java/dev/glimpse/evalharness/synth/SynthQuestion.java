package dev.glimpse.evalharness.synth;

import java.util.Objects;

/**
 * A question with its one-word answer.
 *
 * @param id      {@code mediaId + "-" + type key}, unique in the benchmark
 * @param mediaId the scene or clip it is about
 * @param type    its family
 * @param text    the question as asked
 * @param answer  the expected answer, lower case, one word (digits for counts, yes/no for presence)
 */
public record SynthQuestion(String id, String mediaId, QuestionType type, String text, String answer) {

    public SynthQuestion {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(answer, "answer");
    }

    static SynthQuestion of(String mediaId, QuestionType type, String text, String answer) {
        return new SynthQuestion(mediaId + "-" + type.key(), mediaId, type, text, answer);
    }
}
