package dev.glimpse.vlmruntime.api;

import dev.glimpse.tokenpruning.accounting.PrefillAccounting.PrefillCost;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.generate.StopReason;

import java.util.List;

/**
 * The answer to one question, with what it cost.
 *
 * @param text          generated text, special tokens skipped
 * @param tokenIds      generated token ids (a final eos included)
 * @param stopReason    why generation ended
 * @param counts        token counts, visual tokens per stage
 * @param timings       wall time per stage
 * @param prefill       prefill FLOPs ({@code PrefillAccounting}: per layer 4nd^2 + 2n^2d + 2ndm), the same
 *                      prompt's unpruned FLOPs and the average visual-token count across decoder layers
 * @param pruning       what pruning did: per-layer visual tokens and the trace
 */
public record Answer(String text, int[] tokenIds, StopReason stopReason, TokenCounts counts, StageTimings timings,
                     PrefillCost prefill, Pruning pruning) {

    public Answer {
        tokenIds = tokenIds.clone();
    }

    /** Prefill FLOPs as run (pruned layers counted with their own token counts). */
    public double prefillFlops() {
        return prefill.flops();
    }

    @Override
    public int[] tokenIds() {
        return tokenIds.clone();
    }

    /** Prompt tokens per second of prefill. */
    public double prefillTokensPerSecond() {
        return timings.prefillNanos() == 0 ? 0 : counts.prompt() * 1e9 / timings.prefillNanos();
    }

    /** Decode steps per second (the first generated token comes from prefill). */
    public double decodeTokensPerSecond() {
        return counts.generated() <= 1 || timings.generateNanos() == 0 ? 0
                : (counts.generated() - 1) * 1e9 / timings.generateNanos();
    }

    /**
     * @param prompt    prompt tokens (visual placeholders included)
     * @param generated generated tokens
     * @param visual    visual tokens entering and leaving each pruning stage, in pipeline order
     */
    public record TokenCounts(int prompt, int generated, List<VisualStage> visual) {
        public TokenCounts {
            visual = List.copyOf(visual);
        }
    }

    /**
     * What pruning did to this answer.
     *
     * @param plan                 the stages, as {@code --prune} spells them ("none" without pruning)
     * @param visualTokensPerLayer visual tokens each decoder layer processed during prefill
     * @param trace                per stage, the surviving (frame, row, col) tokens, their scores and budgets
     * @param headsPerLayer        query heads each decoder layer ran after the prefill (fewer than the
     *                             model's heads where SpAtten pruned heads; they stay off while decoding)
     * @param promptPositions      positions the prompt's tokens got after pruning before the LLM
     * @param decoderPositions     positions of the tokens kept inside the decoder
     */
    public record Pruning(String plan, int[] visualTokensPerLayer, PruningTrace trace, int[] headsPerLayer,
                          PositionMode promptPositions, PositionMode decoderPositions) {
        public Pruning {
            visualTokensPerLayer = visualTokensPerLayer.clone();
            headsPerLayer = headsPerLayer.clone();
        }

        @Override
        public int[] headsPerLayer() {
            return headsPerLayer.clone();
        }

        @Override
        public int[] visualTokensPerLayer() {
            return visualTokensPerLayer.clone();
        }
    }

    /**
     * @param stage {@code vision} (patch tokens of the unpruned tower / leaving the tower),
     *              {@code projector} (vision features before/after the pre-projector hook) or
     *              {@code decoder} (visual tokens in the prompt / reaching the last decoder layer)
     */
    public record VisualStage(String stage, int in, int kept) {
    }

    /** Nanoseconds per stage: media decoding, image/video processor, vision tower + projector, prefill, decode steps. */
    public record StageTimings(long decodeMediaNanos, long preprocessNanos, long visionNanos, long prefillNanos,
                               long generateNanos) {

        public long totalNanos() {
            return decodeMediaNanos + preprocessNanos + visionNanos + prefillNanos + generateNanos;
        }
    }
}
