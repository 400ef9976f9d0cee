package dev.glimpse.vlmruntime.text;

/** A tokenizer or chat template cannot be loaded or applied; the message names the file or template. */
public class TokenizerException extends RuntimeException {

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
