package dev.glimpse.vlmruntime.api;

/**
 * The next-token logits of a raw prompt.
 *
 * @param inputIds   the prompt's token ids as the HF processor makes them (placeholders expanded)
 * @param lastLogits logits at the last prompt position, length vocab
 */
public record LogitsResult(int[] inputIds, float[] lastLogits) {

    public LogitsResult {
        inputIds = inputIds.clone();
        lastLogits = lastLogits.clone();
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public float[] lastLogits() {
        return lastLogits.clone();
    }
}
