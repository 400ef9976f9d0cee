package dev.glimpse.kernels;

/** Which keys each query may attend to. */
public sealed interface AttentionMask {

    /** Every query sees every key (vision encoders). */
    record Bidirectional() implements AttentionMask {
    }

    /**
     * Query {@code t} sees keys {@code 0 .. queryStart + t}: {@code queryStart} is the number of
     * cached keys before the first query (0 for a fresh prefill, cache length when decoding).
     */
    record Causal(int queryStart) implements AttentionMask {
        public Causal {
            if (queryStart < 0) {
                throw new IllegalArgumentException("queryStart must be >= 0, got " + queryStart);
            }
        }
    }

    AttentionMask BIDIRECTIONAL = new Bidirectional();

    static AttentionMask causal(int queryStart) {
        return new Causal(queryStart);
    }
}
