package dev.glimpse.vlmruntime.generate;

/** Why generation ended. */
public enum StopReason {
    /** An end-of-sequence token was generated (it is the last token of the result). */
    EOS,
    /** A stop string appeared in the generated text. */
    STOP_STRING,
    /** {@code maxNewTokens} were generated. */
    MAX_NEW_TOKENS,
    /** The session's KV cache is full. */
    CAPACITY
}
