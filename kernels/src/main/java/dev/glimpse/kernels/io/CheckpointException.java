package dev.glimpse.kernels.io;

/**
 * A checkpoint cannot be used as asked. The message names the file or folder and the tensor or
 * header key at fault. Subclasses say why: {@link CheckpointFormatException} (the bytes break the
 * safetensors rules), {@link TensorNotFoundException}, {@link UnsupportedDTypeException}.
 */
public class CheckpointException extends RuntimeException {

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
