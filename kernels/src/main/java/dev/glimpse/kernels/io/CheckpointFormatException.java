package dev.glimpse.kernels.io;

/**
 * A safetensors file or a sharded-checkpoint index breaks the format's rules (those the reference
 * {@code safetensors} Rust crate enforces in {@code SafeTensors::read_metadata}). The message names
 * the file and the offending tensor or key.
 */
public class CheckpointFormatException extends CheckpointException {

    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
