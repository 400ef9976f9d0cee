package dev.glimpse.kernels;

/** A tensor was used against its shape, dtype, device or lifetime rules. */
public class TensorException extends RuntimeException {
    public TensorException(String message) {
        super(message);
    }
}
