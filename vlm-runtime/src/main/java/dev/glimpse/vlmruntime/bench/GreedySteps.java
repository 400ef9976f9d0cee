package dev.glimpse.vlmruntime.bench;

import dev.glimpse.vlmruntime.decoder.DecoderSession;

/**
 * The benchmarks' greedy decode: {@code steps} times "decode the token, pick the next with
 * {@link DecoderSession#greedyToken()}", written as {@link DecoderSession#decodeGreedy} so that a
 * session under {@value DecoderSession#DECODE_AHEAD_PROPERTY} runs its steps ahead of the host.
 */
final class GreedySteps {

    private GreedySteps() {
    }

    /** Decodes {@code token} and the {@code steps - 1} greedy tokens after it; returns the last token picked ({@code token} when steps is 0). */
    static int run(DecoderSession session, int token, int steps) {
        if (steps < 1) {
            return token;
        }
        session.decode(token);
        int[] last = {token};
        session.decodeGreedy(steps, next -> {
            last[0] = next;
            return true;
        });
        return last[0];
    }
}
