package dev.glimpse.vlmruntime.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token from processed scores: the argmax (first index on ties, as
 * {@code torch.argmax}) when greedy, else one draw from {@code softmax(scores)} (-inf scores have
 * probability 0) with a seeded {@link SplittableRandom}, like HF's {@code torch.multinomial} step
 * but with its own random stream.
 */
public final class TokenSampler {

    private final boolean sample;
    private final SplittableRandom random;

    public TokenSampler(boolean sample, long seed) {
        this.sample = sample;
        this.random = new SplittableRandom(seed);
    }

    public int next(float[] scores) {
        int best = argmax(scores);
        if (!sample) {
            return best;
        }
        float max = scores[best];
        double sum = 0;
        for (float s : scores) {
            sum += Math.exp(s - max);
        }
        double u = random.nextDouble() * sum;
        double cumulative = 0;
        int last = best;
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] == Float.NEGATIVE_INFINITY) {
                continue;
            }
            cumulative += Math.exp(scores[i] - max);
            last = i;
            if (u < cumulative) {
                return i;
            }
        }
        return last;
    }

    static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }
}
