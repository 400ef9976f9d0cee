package dev.glimpse.vlmruntime.api;

import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.FrameBudgets;

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
 * @param frameBudgets  tokens to keep per sampled video frame, overriding the even split of a
 *                      {@code --budget N/video} total (e.g. the QuoTA planner's allocation); a frame
 *                      with 0 is dropped with its placeholder tokens; empty: the plan's budget decides
 * @param positions     rotary positions of the visual tokens pruning keeps ({@code --positions}), at every
 *                      stage: {@link PositionMode#ORIGINAL} their positions in the unpruned prompt,
 *                      {@link PositionMode#CONTIGUOUS} re-indexed without gaps; empty: each stage's
 *                      default (contiguous before the LLM, original inside the decoder; see
 *                      {@code RequestPruning})
 */
public record AskOptions(int maxNewTokens, Optional<GenerationOptions> generation, PruningPlan pruning,
                         Optional<FrameBudgets> frameBudgets, Optional<PositionMode> positions) {

    public static final int DEFAULT_MAX_NEW_TOKENS = 256;

    public AskOptions {
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(pruning, "pruning");
        Objects.requireNonNull(frameBudgets, "frameBudgets");
        Objects.requireNonNull(positions, "positions");
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        }
    }

    /** {@value #DEFAULT_MAX_NEW_TOKENS} tokens, the checkpoint's decoding settings, no pruning. */
    public AskOptions(int maxNewTokens, Optional<GenerationOptions> generation, PruningPlan pruning) {
        this(maxNewTokens, generation, pruning, Optional.empty(), Optional.empty());
    }

    public static AskOptions defaults() {
        return new AskOptions(DEFAULT_MAX_NEW_TOKENS, Optional.empty(), PruningPlan.none());
    }

    public AskOptions withMaxNewTokens(int n) {
        return new AskOptions(n, generation, pruning, frameBudgets, positions);
    }

    public AskOptions withGeneration(GenerationOptions options) {
        return new AskOptions(maxNewTokens, Optional.of(options), pruning, frameBudgets, positions);
    }

    public AskOptions withPruning(PruningPlan plan) {
        return new AskOptions(maxNewTokens, generation, plan, frameBudgets, positions);
    }

    /**
     * Tokens to keep per sampled frame of the video ({@code perFrame.length} must equal the frame
     * count), overriding the even split of the budget. Frames given 0 are dropped entirely, their
     * placeholder tokens too (QuoTA). Needs a pre-projector selector ({@code vtc-cls},
     * {@code uniform}, {@code random}) on plain LLaVA.
     */
    public AskOptions withFrameBudgets(int... perFrame) {
        return new AskOptions(maxNewTokens, generation, pruning, Optional.of(FrameBudgets.of(perFrame)), positions);
    }

    /** The positions of kept visual tokens at every pruning stage (see {@link #positions()}). */
    public AskOptions withPositions(PositionMode mode) {
        return new AskOptions(maxNewTokens, generation, pruning, frameBudgets, Optional.of(mode));
    }
}
