package dev.glimpse.vlmruntime.api;

import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;

import java.util.Objects;
import java.util.Optional;

/**
 * How to answer.
 *
 * @param maxNewTokens  tokens to generate at most
 * @param generation    decoding settings; empty uses the checkpoint's generation_config.json (greedy
 *                      when it has none), in both cases capped at {@code maxNewTokens}
 * @param projectorHook visual-token pruning before the projector ({@link ProjectorInputHook#KEEP_ALL}: none)
 */
public record AskOptions(int maxNewTokens, Optional<GenerationOptions> generation, ProjectorInputHook projectorHook) {

    public static final int DEFAULT_MAX_NEW_TOKENS = 256;

    public AskOptions {
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(projectorHook, "projectorHook");
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        }
    }

    /** {@value #DEFAULT_MAX_NEW_TOKENS} tokens, the checkpoint's decoding settings, no pruning. */
    public static AskOptions defaults() {
        return new AskOptions(DEFAULT_MAX_NEW_TOKENS, Optional.empty(), ProjectorInputHook.KEEP_ALL);
    }

    public AskOptions withMaxNewTokens(int n) {
        return new AskOptions(n, generation, projectorHook);
    }

    public AskOptions withGeneration(GenerationOptions options) {
        return new AskOptions(maxNewTokens, Optional.of(options), projectorHook);
    }

    public AskOptions withProjectorHook(ProjectorInputHook hook) {
        return new AskOptions(maxNewTokens, generation, hook);
    }
}
