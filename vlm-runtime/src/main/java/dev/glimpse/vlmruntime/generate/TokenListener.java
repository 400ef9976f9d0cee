package dev.glimpse.vlmruntime.generate;

/** Receives each generated token as soon as it is chosen (streaming). */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param id   the token id
     * @param text the text this token completes (empty while a multi-byte character is incomplete,
     *             or when no tokenizer is attached), special tokens skipped
     */
    void onToken(int id, String text);

    /** Called once after the last token with text still held back (an unfinished character), possibly empty. */
    default void onEnd(String heldBackText) {
    }

    TokenListener NONE = (id, text) -> {
    };
}
