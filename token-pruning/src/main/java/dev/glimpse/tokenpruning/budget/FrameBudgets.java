package dev.glimpse.tokenpruning.budget;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Tokens to keep per frame of a video (or per image of a request), in frame order. A frame with 0
 * is dropped: it is not encoded further and contributes no tokens (QuoTA's rule).
 */
public record FrameBudgets(int[] tokens) {

    public FrameBudgets {
        tokens = tokens.clone();
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] < 0) {
                throw new IllegalArgumentException("frame " + t + " has a negative budget " + tokens[t]);
            }
        }
    }

    /** Budgets handed over as they are, e.g. an allocation the query planner computed. */
    public static FrameBudgets of(int... tokens) {
        return new FrameBudgets(tokens);
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    public int frames() {
        return tokens.length;
    }

    public int tokensFor(int frame) {
        return tokens[frame];
    }

    public long total() {
        return Arrays.stream(tokens).asLongStream().sum();
    }

    /** Frames with a budget of at least one token, ascending. */
    public int[] keptFrames() {
        return IntStream.range(0, tokens.length).filter(t -> tokens[t] > 0).toArray();
    }

    /** Frames with a budget of 0, ascending. */
    public int[] droppedFrames() {
        return IntStream.range(0, tokens.length).filter(t -> tokens[t] == 0).toArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FrameBudgets other && Arrays.equals(tokens, other.tokens);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "FrameBudgets" + Arrays.toString(tokens);
    }
}
