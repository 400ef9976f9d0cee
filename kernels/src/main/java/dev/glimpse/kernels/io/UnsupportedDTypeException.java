package dev.glimpse.kernels.io;

/**
 * A tensor whose safetensors dtype is valid in the format (F64, I8, F8_E4M3, ...) but has no
 * {@link dev.glimpse.kernels.DType}, so it cannot be loaded as a tensor. Such tensors are still listed
 * and validated; only loading them fails. The message names the tensor, its dtype and the file.
 */
public class UnsupportedDTypeException extends CheckpointException {

    public UnsupportedDTypeException(String message) {
        super(message);
    }
}
