package dev.glimpse.tokenpruning.budget;

import dev.glimpse.tokenpruning.TokenGrid;

/**
 * QuoTA's token assignment (PAPERS.md, QuoTA steps 4-5) as pure functions; the query planner
 * computes the frame probabilities {@code p_t} and calls these.
 * <ul>
 *   <li>weights: {@code w_t = (100 p_t)^2 / sum_s (100 p_s)^2};</li>
 *   <li>allocation: {@code n_t = floor(N * w_t)}, N the baseline budget (LLaVA-Video: 64 x 196 =
 *       12,544); frames with {@code n_t = 0} are dropped. Computed as
 *       {@code floor(N * (100 p_t)^2 / sum)} (multiply before dividing), which avoids the
 *       rounding a normalised weight can introduce, e.g. 33 for a third of 99 never becoming 32;</li>
 *   <li>grid of a frame with n tokens: {@code h = w = floor(sqrt(n))}, then {@code h += 1} if
 *       {@code (h + 1) * w <= n}; the frame's projected feature map is resized to h x w.</li>
 * </ul>
 * When every {@code p_t} is 0 the weights are uniform (the reference would divide by zero).
 */
public final class QuotaAssignment {

    private QuotaAssignment() {
    }

    /** {@code w_t = (100 p_t)^2}, normalised to sum 1. */
    public static double[] weights(double[] probabilities) {
        double[] squared = squaredScores(probabilities);
        double sum = sum(squared);
        double[] w = new double[squared.length];
        for (int t = 0; t < w.length; t++) {
            w[t] = sum > 0 ? squared[t] / sum : 1.0 / w.length;
        }
        return w;
    }

    /** {@code n_t = floor(N * w_t)} for the QuoTA weights of {@code probabilities}. */
    public static int[] allocate(double[] probabilities, int totalBudget) {
        return allocateByWeights(squaredScores(probabilities), totalBudget);
    }

    /** {@link #allocate} as {@link FrameBudgets}: frames with 0 are dropped. */
    public static FrameBudgets assign(double[] probabilities, int totalBudget) {
        return new FrameBudgets(allocate(probabilities, totalBudget));
    }

    /** QuoTA's frame grid for {@code n} tokens: {@code h = w = floor(sqrt(n))}, {@code h += 1} if {@code (h+1) w <= n}. */
    public static TokenGrid grid(int tokens) {
        if (tokens <= 0) {
            throw new IllegalArgumentException("a frame grid needs at least one token, got " + tokens
                    + " (frames with 0 tokens are dropped)");
        }
        int w = (int) Math.floor(Math.sqrt(tokens));
        while ((long) w * w > tokens) {
            w--;
        }
        while ((long) (w + 1) * (w + 1) <= tokens) {
            w++;
        }
        int h = w;
        if ((h + 1) * w <= tokens) {
            h++;
        }
        return new TokenGrid(h, w);
    }

    /** {@code floor(N * weight_t / sum(weights))}; uniform when the weights sum to 0. */
    static int[] allocateByWeights(double[] weights, int totalBudget) {
        if (totalBudget < 0) {
            throw new IllegalArgumentException("a total budget cannot be negative: " + totalBudget);
        }
        double sum = 0;
        for (double w : weights) {
            if (!(w >= 0) || Double.isInfinite(w)) {
                throw new IllegalArgumentException("frame weights must be finite and >= 0, got " + w);
            }
            sum += w;
        }
        int[] n = new int[weights.length];
        for (int t = 0; t < n.length; t++) {
            double share = sum > 0 ? totalBudget * weights[t] / sum : (double) totalBudget / n.length;
            n[t] = (int) Math.floor(share);
        }
        return n;
    }

    private static double[] squaredScores(double[] probabilities) {
        double[] s = new double[probabilities.length];
        for (int t = 0; t < s.length; t++) {
            double p = probabilities[t];
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("frame probability " + t + " must be in [0, 1], got " + p);
            }
            s[t] = (100 * p) * (100 * p);
        }
        return s;
    }

    private static double sum(double[] values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }
}
