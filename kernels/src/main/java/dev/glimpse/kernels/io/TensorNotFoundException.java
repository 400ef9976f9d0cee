package dev.glimpse.kernels.io;

/** A tensor name that the file or checkpoint folder does not hold; the message names both. */
public class TensorNotFoundException extends CheckpointException {

    public TensorNotFoundException(String message) {
        super(message);
    }
}
