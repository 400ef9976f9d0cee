package dev.glimpse.vlmruntime.warmup;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link ServeWarmup} covers and how long it may take.
 *
 * @param bound          wall-clock time after which no further warm-up request starts (the one running finishes)
 * @param question       the requests' default question (a server's own default), to which filler tokens are added
 * @param prune          the pruning strategy the budgets go with, as a request's {@code prune} field names it
 *                       (e.g. {@code vtc-cls}); the full visual token count is always warmed too
 * @param budgets        visual token budgets (tokens per image) the server's clients send, warmed after the full count
 * @param questionTokens how many tokens longer than {@code question} the warmed prompts reach: the spread of the
 *                       clients' question lengths
 * @param maxNewTokens   the requests' default {@code max_new_tokens}: with the prompt, it sizes their KV capacity,
 *                       and so the pooled session buffers the prefill graphs belong to
 */
public record WarmupSettings(Duration bound, String question, String prune, List<Integer> budgets, int questionTokens,
                             int maxNewTokens) {

    /** The strategy budgets are warmed with unless told: the selector the project's headline budget uses. */
    public static final String DEFAULT_PRUNE = "vtc-cls";
    /**
     * Question spread warmed unless told: 96 tokens past the default question, about what ServeMixBench's 3-to-30-word
     * questions add to LLaVA-1.5-7B's prompt (74 to 164 tokens at a 64-token budget).
     */
    public static final int DEFAULT_QUESTION_TOKENS = 96;
    /** Most question tokens a warm-up reaches past its question. */
    public static final int MAX_QUESTION_TOKENS = 4096;

    public WarmupSettings {
        Objects.requireNonNull(bound, "bound");
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(prune, "prune");
        budgets = List.copyOf(budgets);
        if (bound.isNegative() || bound.isZero()) {
            throw new IllegalArgumentException("the warm-up needs a positive time bound, got " + bound);
        }
        if (question.isBlank()) {
            throw new IllegalArgumentException("the warm-up needs a question");
        }
        for (int b : budgets) {
            if (b < 1) {
                throw new IllegalArgumentException("warm-up budgets are visual tokens per image >= 1, got " + b);
            }
        }
        if (questionTokens < 0 || questionTokens > MAX_QUESTION_TOKENS) {
            throw new IllegalArgumentException("warm-up question tokens must be in 0.." + MAX_QUESTION_TOKENS + ", got "
                    + questionTokens);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("the warm-up's max new tokens must be >= 1, got " + maxNewTokens);
        }
    }
}
