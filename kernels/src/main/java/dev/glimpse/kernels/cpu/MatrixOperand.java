package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A row-major matrix as the GEMM kernels read it: {@code rows x cols} elements of {@code dtype},
 * row {@code r} starting at byte {@code byteOffset + r * rowStride * dtype.byteSize()} of
 * {@code segment}, elements of a row adjacent. Any tensor whose innermost stride is 1 and whose
 * leading dimensions collapse into one stride can be read this way without a copy.
 *
 * @param rowStride distance between row starts, in elements
 */
record MatrixOperand(MemorySegment segment, long byteOffset, int rows, int cols, long rowStride, DType dtype) {

    /** Byte offset of the first element of row {@code r}. */
    long rowOffset(int r) {
        return byteOffset + r * rowStride * dtype.byteSize();
    }

    /** Distance between row starts in bytes. */
    long rowStrideBytes() {
        return rowStride * dtype.byteSize();
    }

    /**
     * {@code t} read as [product of leading dims, last dim] without copying, or null when its
     * layout does not allow that (innermost stride not 1, or leading dims that do not collapse).
     */
    static MatrixOperand viewOf(Tensor t) {
        int rank = t.rank();
        if (rank == 0) {
            throw new TensorException("a matrix operand needs rank >= 1, got a scalar " + t);
        }
        int[] shape = t.shape();
        long[] strides = t.strides();
        int cols = shape[rank - 1];
        long rows = 1;
        for (int i = 0; i < rank - 1; i++) {
            rows *= shape[i];
        }
        if (rows > Integer.MAX_VALUE) {
            throw new TensorException("matrix operand " + Arrays.toString(shape) + " has more than 2^31 rows");
        }
        if (cols > 1 && strides[rank - 1] != 1) {
            return null;
        }
        long rowStride = -1;
        long expected = -1;
        for (int i = rank - 2; i >= 0; i--) {
            if (shape[i] == 1) {
                continue;
            }
            if (rowStride < 0) {
                rowStride = strides[i];
            } else if (strides[i] != expected) {
                return null;
            }
            expected = strides[i] * shape[i];
        }
        return new MatrixOperand(t.segment(), t.byteOffset(), (int) rows, cols,
                rowStride < 0 ? cols : rowStride, t.dtype());
    }
}
