package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

import java.util.SplittableRandom;

/**
 * {@code random}: U tokens drawn uniformly without replacement, re-sorted into raster order.
 * Each token gets a uniform score from a {@link SplittableRandom} seeded with
 * {@code seed * 0x9E3779B97F4A7C15 + frame} (so frames differ and a seed reproduces a run), and
 * the backend's top-k keeps the U largest: every U-subset is equally likely. The scores go into
 * the trace.
 */
public record RandomSelector(long seed) implements TokenSelector {

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    @Override
    public String name() {
        return "random";
    }

    @Override
    public TokenSelection select(Backend backend, VisualFrame frame, int budget) {
        int n = frame.grid().size();
        if (budget >= n) {
            return TokenSelection.all(frame.frame(), frame.grid());
        }
        SplittableRandom random = new SplittableRandom(seed * GOLDEN_GAMMA + frame.frame());
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            scores[i] = (float) random.nextDouble();
        }
        return new TokenSelection(frame.frame(), frame.grid(), TopKSelection.topIndices(backend, scores, budget), scores);
    }
}
