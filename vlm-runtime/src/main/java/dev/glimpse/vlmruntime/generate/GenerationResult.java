package dev.glimpse.vlmruntime.generate;

import dev.glimpse.vlmruntime.decoder.PrefillResult;

/**
 * The outcome of {@link Generator#generate}.
 *
 * @param tokens       generated token ids (an eos that stopped generation included, as HF returns it)
 * @param text         the generated text with special tokens skipped, or null without a tokenizer
 * @param promptTokens tokens prefilled
 * @param stopReason   why generation ended
 * @param prefill      what the prefill did: tokens per layer, FLOPs estimate, time
 * @param decodeNanos  time of all decode steps (forward, processors, sampling)
 */
public record GenerationResult(int[] tokens, String text, int promptTokens, StopReason stopReason,
                               PrefillResult prefill, long decodeNanos) {

    public GenerationResult {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    public int generatedTokens() {
        return tokens.length;
    }

    public long prefillNanos() {
        return prefill.nanos();
    }

    /** Decode steps per second (the first token comes from prefill, so steps = tokens - 1). */
    public double decodeTokensPerSecond() {
        return tokens.length <= 1 || decodeNanos == 0 ? 0 : (tokens.length - 1) * 1e9 / decodeNanos;
    }
}
