package dev.glimpse.kernels.cuda;

/**
 * A device allocation did not fit: the message names the bytes asked for, what is free, the budget
 * and the option that changes it.
 */
public final class CudaOutOfMemoryException extends CudaException {
    public CudaOutOfMemoryException(String message) {
        super(message);
    }
}
