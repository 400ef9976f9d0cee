package dev.glimpse.tokenpruning.budget;

import java.util.Locale;

/**
 * How many visual tokens to keep (ARCHITECTURE.md, "Budgets"), as the user writes it with
 * {@code --budget}:
 * <ul>
 *   <li>{@code 64}: a count per image or per frame ({@link Count});</li>
 *   <li>{@code 25%}: a share of each image's or frame's tokens ({@link Ratio});</li>
 *   <li>{@code 12544/video}: a total for a whole video, split across its frames evenly or by
 *       per-frame weights, e.g. QuoTA's ({@link VideoTotal}).</li>
 * </ul>
 * Adaptive strategies (as-vit, atp) take a target instead and report what they kept.
 */
public sealed interface TokenBudget permits TokenBudget.Count, TokenBudget.Ratio, TokenBudget.VideoTotal {

    /** The accepted forms, for error messages. */
    String FORMS = "a token count per image or frame (e.g. 64), a percentage of each image's or frame's tokens "
            + "(e.g. 25%), or a total for a video split across its frames (e.g. 12544/video)";

    /** Keep {@code tokens} tokens of each image or frame (all of them when it has fewer). */
    record Count(int tokens) implements TokenBudget {
        public Count {
            if (tokens <= 0) {
                throw new InvalidBudgetException("--budget " + tokens + ": a token count must be at least 1; use "
                        + FORMS);
            }
        }

        @Override
        public int tokensFor(int available) {
            return Math.min(tokens, checkAvailable(available));
        }

        @Override
        public String toString() {
            return Integer.toString(tokens);
        }
    }

    /**
     * Keep {@code round(available * fraction)} tokens of each image or frame, at least 1
     * (Math.round: halves round up). {@code 25%} of 576 is 144; FastV's "keep round(n (1 - R))" is
     * {@code Ratio(1 - R)}.
     */
    record Ratio(double fraction) implements TokenBudget {
        public Ratio {
            if (!(fraction > 0 && fraction <= 1)) {
                throw new InvalidBudgetException("--budget " + fraction * 100 + "%: a percentage must be in (0, 100]; use "
                        + FORMS);
            }
        }

        @Override
        public int tokensFor(int available) {
            int n = checkAvailable(available);
            return n == 0 ? 0 : (int) Math.min(n, Math.max(1, Math.round(n * fraction)));
        }

        @Override
        public String toString() {
            return fraction * 100 + "%";
        }
    }

    /**
     * A total for a whole video. Split evenly by {@link #perFrame(int[])}: each of T frames gets
     * {@code floor(N / T)}, and the first {@code N mod T} frames one more; or by weights with
     * {@link #perFrame(int[], double[])}. A frame never gets more than it has; what it cannot
     * use is not redistributed. A single image counts as a one-frame video.
     */
    record VideoTotal(int tokens) implements TokenBudget {
        public VideoTotal {
            if (tokens <= 0) {
                throw new InvalidBudgetException("--budget " + tokens + "/video: a total must be at least 1; use " + FORMS);
            }
        }

        @Override
        public int tokensFor(int available) {
            return Math.min(tokens, checkAvailable(available));
        }

        @Override
        public FrameBudgets perFrame(int[] tokensPerFrame) {
            int frames = tokensPerFrame.length;
            int[] out = new int[frames];
            if (frames == 0) {
                return new FrameBudgets(out);
            }
            int base = tokens / frames;
            int extra = tokens % frames;
            for (int t = 0; t < frames; t++) {
                out[t] = Math.min(base + (t < extra ? 1 : 0), checkAvailable(tokensPerFrame[t]));
            }
            return new FrameBudgets(out);
        }

        /**
         * The total split by weights: {@code n_t = floor(N * w_t / sum(w))} (QuoTA's assignment
         * with its normalised weights), capped at each frame's tokens; frames with 0 are dropped.
         */
        public FrameBudgets perFrame(int[] tokensPerFrame, double[] weights) {
            if (weights.length != tokensPerFrame.length) {
                throw new IllegalArgumentException(weights.length + " frame weights for " + tokensPerFrame.length + " frames");
            }
            int[] allocation = QuotaAssignment.allocateByWeights(weights, tokens);
            for (int t = 0; t < allocation.length; t++) {
                allocation[t] = Math.min(allocation[t], checkAvailable(tokensPerFrame[t]));
            }
            return new FrameBudgets(allocation);
        }

        @Override
        public String toString() {
            return tokens + "/video";
        }
    }

    /** Tokens to keep of one image or frame that has {@code available}. */
    int tokensFor(int available);

    /** Per-frame counts for frames holding {@code tokensPerFrame[t]} tokens each. */
    default FrameBudgets perFrame(int[] tokensPerFrame) {
        int[] out = new int[tokensPerFrame.length];
        for (int t = 0; t < out.length; t++) {
            out[t] = tokensFor(tokensPerFrame[t]);
        }
        return new FrameBudgets(out);
    }

    static TokenBudget count(int tokens) {
        return new Count(tokens);
    }

    static TokenBudget ratio(double fraction) {
        return new Ratio(fraction);
    }

    static TokenBudget videoTotal(int tokens) {
        return new VideoTotal(tokens);
    }

    /** Parses a {@code --budget} value; {@link InvalidBudgetException} names the accepted forms. */
    static TokenBudget parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidBudgetException("--budget is empty; use " + FORMS);
        }
        String s = text.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("%")) {
                double percent = Double.parseDouble(s.substring(0, s.length() - 1).strip());
                if (!(percent > 0 && percent <= 100)) {
                    throw new InvalidBudgetException("--budget '" + text + "': a percentage must be in (0, 100]; use " + FORMS);
                }
                return new Ratio(percent / 100);
            }
            if (s.endsWith("/video")) {
                return new VideoTotal(parseCount(s.substring(0, s.length() - "/video".length()).strip(), text));
            }
            return new Count(parseCount(s, text));
        } catch (NumberFormatException e) {
            throw new InvalidBudgetException("--budget '" + text + "' is not a budget; use " + FORMS);
        }
    }

    private static int parseCount(String digits, String text) {
        if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)) {
            throw new InvalidBudgetException("--budget '" + text + "' is not a budget; use " + FORMS);
        }
        int n = Integer.parseInt(digits);
        if (n <= 0) {
            throw new InvalidBudgetException("--budget '" + text + "': a token count must be at least 1; use " + FORMS);
        }
        return n;
    }

    private static int checkAvailable(int available) {
        if (available < 0) {
            throw new IllegalArgumentException("a frame cannot hold " + available + " tokens");
        }
        return available;
    }
}
