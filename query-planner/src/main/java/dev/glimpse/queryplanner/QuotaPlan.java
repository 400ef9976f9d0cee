package dev.glimpse.queryplanner;

import dev.glimpse.tokenpruning.budget.FrameBudgets;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the QuoTA planner decided for one question about one video, for the answer's report.
 *
 * @param objects       the physical objects the decoupling found; empty when frames were scored
 *                      against the question itself
 * @param replies       the language model's reply to each decoupling step
 * @param scoringText   the text part of the frame-scoring prompt
 * @param answerTokenId the token id of "A" the probabilities were read at
 * @param probabilities {@code p_t} per sampled frame
 * @param weights       {@code w_t = (100 p_t)^2}, normalised
 * @param totalBudget   N, the video's total token budget
 * @param budgets       {@code n_t = floor(N w_t)}; 0 drops the frame
 * @param capped        whether each {@code n_t} was capped at the frame's own token count (what a cap cut
 *                      handed on to the other frames): for a selector, which cannot keep more than a frame
 *                      has; QuoTA's bilinear resize takes any share uncapped
 * @param decoupleNanos time of the three decoupling generations
 * @param scoreNanos    time of the frame-scoring forward passes
 */
public record QuotaPlan(List<String> objects, Map<String, String> replies, String scoringText, int answerTokenId,
                        double[] probabilities, double[] weights, int totalBudget, int[] budgets, boolean capped,
                        long decoupleNanos, long scoreNanos) {

    public QuotaPlan {
        objects = List.copyOf(objects);
        replies = Collections.unmodifiableMap(new LinkedHashMap<>(replies));
        probabilities = probabilities.clone();
        weights = weights.clone();
        budgets = budgets.clone();
        if (probabilities.length != budgets.length || weights.length != budgets.length) {
            throw new IllegalArgumentException(probabilities.length + " probabilities, " + weights.length
                    + " weights and " + budgets.length + " budgets: one of each per frame");
        }
    }

    @Override
    public double[] probabilities() {
        return probabilities.clone();
    }

    @Override
    public double[] weights() {
        return weights.clone();
    }

    @Override
    public int[] budgets() {
        return budgets.clone();
    }

    /** The allocation as {@link FrameBudgets}, for {@code AskOptions#withFrameBudgets}. */
    public FrameBudgets frameBudgets() {
        return FrameBudgets.of(budgets);
    }

    /** Frames the allocation drops (budget 0), ascending. */
    public int[] droppedFrames() {
        return frameBudgets().droppedFrames();
    }

    /** The plan as a JSON-ready map (snake_case keys, times in milliseconds). */
    public Map<String, Object> toMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("objects", objects);
        out.put("fallback_to_question", objects.isEmpty());
        out.put("decoupling_replies", replies);
        out.put("scoring_text", scoringText);
        out.put("answer_token_id", answerTokenId);
        out.put("frame_probabilities", probabilities.clone());
        out.put("frame_weights", weights.clone());
        out.put("total_budget", totalBudget);
        out.put("frame_budgets", budgets.clone());
        out.put("capped_at_frame_tokens", capped);
        out.put("dropped_frames", droppedFrames());
        out.put("decouple_ms", decoupleNanos / 1e6);
        out.put("score_ms", scoreNanos / 1e6);
        return out;
    }

    @Override
    public String toString() {
        return "QuotaPlan[objects=" + objects + ", p=" + Arrays.toString(probabilities) + ", budgets="
                + Arrays.toString(budgets) + " of " + totalBudget + "]";
    }
}
