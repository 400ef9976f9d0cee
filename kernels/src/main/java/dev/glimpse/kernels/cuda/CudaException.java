package dev.glimpse.kernels.cuda;

/** A CUDA, driver or cuBLAS call failed; the message names the call and the error. */
public class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }
}
