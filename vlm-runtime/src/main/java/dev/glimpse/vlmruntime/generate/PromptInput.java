package dev.glimpse.vlmruntime.generate;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.decoder.PruningHook;

/**
 * What to prefill before generating: input embeddings (text embeddings with image features
 * spliced in, for LLaVA) at positions, the prompt's token ids (HF's {@code input_ids}, image
 * placeholders included: the repetition penalty looks at them) and an optional pruning hook.
 * The embeddings stay owned by the caller.
 */
public record PromptInput(Tensor embeddings, int[] positions, int[] inputIds, PruningHook hook) {

    public PromptInput {
        positions = positions.clone();
        inputIds = inputIds.clone();
    }

    @Override
    public int[] positions() {
        return positions.clone();
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }
}
