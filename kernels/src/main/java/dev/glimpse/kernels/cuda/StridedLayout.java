package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The {@code StridedLayout} struct of copy.cu, passed by value to {@code strided_copy}: source and
 * destination strides (elements) and the shape, at most {@value #MAX_RANK} dims.
 */
final class StridedLayout {

    static final int MAX_RANK = 8;
    /** long long src_stride[8], dst_stride[8]; int shape[8], rank; padded to 8 bytes. */
    static final long BYTES = 8L * MAX_RANK * 2 + 4L * MAX_RANK + 8;

    private StridedLayout() {
    }

    /**
     * Writes into {@code s} ({@link #BYTES} bytes) the struct for copying {@code src} into
     * {@code dst} with dst's shape (the same rank; rank 0 counts as [1]).
     */
    static void fill(MemorySegment s, Tensor src, Tensor dst) {
        int rank = Math.max(1, src.rank());
        if (rank > MAX_RANK) {
            throw new TensorException("the CUDA backend copies tensors of rank <= " + MAX_RANK + ", got " + src);
        }
        s.fill((byte) 0);
        for (int a = 0; a < rank; a++) {
            boolean scalar = src.rank() == 0;
            s.setAtIndex(ValueLayout.JAVA_LONG, a, scalar ? 1 : src.stride(a));
            s.setAtIndex(ValueLayout.JAVA_LONG, MAX_RANK + a, scalar ? 1 : dst.stride(a));
            s.set(ValueLayout.JAVA_INT, 16L * MAX_RANK + 4L * a, scalar ? 1 : dst.dim(a));
        }
        s.set(ValueLayout.JAVA_INT, 16L * MAX_RANK + 4L * MAX_RANK, rank);
    }
}
