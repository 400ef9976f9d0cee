package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Tensor;

import java.util.Objects;
import java.util.stream.IntStream;

/**
 * A prompt ready for prefill: HF's {@code input_ids} (placeholders expanded), the input
 * embeddings with the visual features spliced in at the placeholder positions, and the rotary
 * positions of its tokens.
 *
 * @param inputIds   token ids, image/video placeholders included
 * @param positions  one per token, strictly increasing: 0..T-1 (HF's default {@code position_ids} for
 *                   one unpadded sequence), or with pruning before the LLM under
 *                   {@link dev.glimpse.vlmruntime.decoder.PositionMode#ORIGINAL} each token's position
 *                   in the unpruned prompt
 * @param embeddings F32 [inputIds.length, text hidden], owned by this record
 * @param visuals    the spliced features' counts and timings (its tensors already released)
 * @param onClose    run by {@link #close} after the embeddings are freed: the pre-projector hook's
 *                   {@link ProjectorInputHook#release} (its selections left on the device, read back
 *                   once the prompt has served its prefill)
 */
public record PreparedPrompt(int[] inputIds, int[] positions, Tensor embeddings, VisualStats visuals, Runnable onClose)
        implements AutoCloseable {

    public PreparedPrompt {
        Objects.requireNonNull(onClose, "onClose");
        inputIds = inputIds.clone();
        positions = positions.clone();
        if (positions.length != inputIds.length) {
            throw new IllegalArgumentException(positions.length + " positions for " + inputIds.length + " tokens");
        }
    }

    /** A prompt with nothing to run at close but freeing its embeddings. */
    public PreparedPrompt(int[] inputIds, int[] positions, Tensor embeddings, VisualStats visuals) {
        this(inputIds, positions, embeddings, visuals, () -> { });
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public int[] positions() {
        return positions.clone();
    }

    @Override
    public void close() {
        try {
            embeddings.close();
        } finally {
            onClose.run();
        }
    }

    /** Positions in {@link #inputIds()} of the visual placeholder tokens (images and video), ascending. */
    public int[] visualPositions(int imageTokenId, int videoTokenId) {
        return IntStream.range(0, inputIds.length)
                .filter(p -> inputIds[p] == imageTokenId || inputIds[p] == videoTokenId).toArray();
    }

    /**
     * @param visualTokens    placeholder tokens in the prompt (images and video)
     * @param unprunedTokens  placeholder tokens the prompt would hold without pruning
     * @param towerTokens     vision features the tower yields without pruning inside it
     * @param visualIn        vision features before the projector hook
     * @param visualKept      features the hook kept
     * @param preprocessNanos image/video processor time
     * @param visionNanos     vision tower, hook, projector and packing time
     */
    public record VisualStats(int visualTokens, int unprunedTokens, int towerTokens, int visualIn, int visualKept,
                              long preprocessNanos, long visionNanos) {
    }
}
