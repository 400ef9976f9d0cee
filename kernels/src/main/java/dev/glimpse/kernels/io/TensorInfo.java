package dev.glimpse.kernels.io;

import java.util.List;

/**
 * One header entry of a safetensors file: name, dtype, shape and the byte range
 * {@code [begin, end)} relative to the start of the data region (after the 8-byte length and the
 * JSON header).
 */
public record TensorInfo(String name, SafetensorsDType dtype, List<Long> shape, long begin, long end) {

    public TensorInfo {
        shape = List.copyOf(shape);
    }

    public long byteLength() {
        return end - begin;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
