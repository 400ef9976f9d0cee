package dev.glimpse.vlmruntime.api;

import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.tokenpruning.PruningPlan;

import java.util.Objects;
import java.util.Optional;

/**
 * How to answer.
 *
 * @param maxNewTokens  tokens to generate at most
 * @param generation    decoding settings; empty uses the checkpoint's generation_config.json (greedy
 *                      when it has none), in both cases capped at {@code maxNewTokens}
 * @param pruning       visual-token pruning stages and budget ({@link PruningPlan#none()}: none); see
 *                      {@code RequestPruning} for where each strategy runs and what combines
 */
public record AskOptions(int maxNewTokens, Optional<GenerationOptions> generation, PruningPlan pruning) {

    public static final int DEFAULT_MAX_NEW_TOKENS = 256;

    public AskOptions {
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(pruning, "pruning");
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        }
    }

    /** {@value #DEFAULT_MAX_NEW_TOKENS} tokens, the checkpoint's decoding settings, no pruning. */
    public static AskOptions defaults() {
        return new AskOptions(DEFAULT_MAX_NEW_TOKENS, Optional.empty(), PruningPlan.none());
    }

    public AskOptions withMaxNewTokens(int n) {
        return new AskOptions(n, generation, pruning);
    }

    public AskOptions withGeneration(GenerationOptions options) {
        return new AskOptions(maxNewTokens, Optional.of(options), pruning);
    }

    public AskOptions withPruning(PruningPlan plan) {
        return new AskOptions(maxNewTokens, generation, plan);
    }
}
