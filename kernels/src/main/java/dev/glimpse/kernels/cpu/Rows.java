package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * How the CPU ops see a tensor: as rows (all leading dims flattened) of its last dim, each row
 * starting at an element offset and walking the last dim with its stride. Also the argument checks
 * every op shares, with messages that say what was expected.
 */
final class Rows {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** Work per parallel task, in elements: below this an op runs on the calling thread. */
    static final int GRAIN_ELEMENTS = 1 << 15;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private Rows() {
    }

    /** Size of the last dim (1 for a scalar). */
    static int width(Tensor t) {
        return OpChecks.width(t);
    }

    /** Number of rows: the product of all dims but the last (1 for rank 0 and 1). */
    static int count(Tensor t) {
        return OpChecks.rows(t);
    }

    /** Stride of the last dim in elements (1 for a scalar). */
    static long stride(Tensor t) {
        return t.rank() == 0 ? 1 : t.stride(-1);
    }

    /** Element offset (from the segment start) of the first element of {@code row}. */
    static long offset(Tensor t, long row) {
        long o = t.offset();
        long r = row;
        for (int i = t.rank() - 2; i >= 0; i--) {
            int d = t.dim(i);
            o += (r % d) * t.stride(i);
            r /= d;
        }
        return o;
    }

    /** True when row {@code row} can be read as {@code width} packed F32 values in place. */
    static boolean packedF32(Tensor t) {
        return t.dtype() == DType.F32 && (stride(t) == 1 || width(t) <= 1);
    }

    /** Reads {@code n} values of any float dtype, {@code stride} elements apart, into {@code dst}. */
    static void read(Tensor t, long offset, long stride, int n, float[] dst, int dstOffset) {
        MemorySegment s = t.segment();
        switch (t.dtype()) {
            case F32 -> {
                if (stride == 1) {
                    MemorySegment.copy(s, F32, offset * 4, dst, dstOffset, n);
                } else {
                    for (int i = 0; i < n; i++) {
                        dst[dstOffset + i] = s.getAtIndex(F32, offset + i * stride);
                    }
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + i] = DType.bf16ToFloat(s.getAtIndex(I16, offset + i * stride));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(s.getAtIndex(I16, offset + i * stride));
                }
            }
            default -> throw new TensorException("expected a float tensor (F32, F16 or BF16), got " + t);
        }
    }

    /** Writes {@code n} values to any float dtype (rounding to nearest even), {@code stride} apart. */
    static void write(Tensor t, long offset, long stride, int n, float[] src, int srcOffset) {
        MemorySegment s = t.segment();
        switch (t.dtype()) {
            case F32 -> {
                if (stride == 1) {
                    MemorySegment.copy(src, srcOffset, s, F32, offset * 4, n);
                } else {
                    for (int i = 0; i < n; i++) {
                        s.setAtIndex(F32, offset + i * stride, src[srcOffset + i]);
                    }
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    s.setAtIndex(I16, offset + i * stride, DType.floatToBf16(src[srcOffset + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    s.setAtIndex(I16, offset + i * stride, Float.floatToFloat16(src[srcOffset + i]));
                }
            }
            default -> throw new TensorException("expected a float tensor (F32, F16 or BF16), got " + t);
        }
    }

    /** Reads row {@code row} of {@code t} into {@code dst[0, width)}. */
    static void readRow(Tensor t, int row, float[] dst) {
        read(t, offset(t, row), stride(t), width(t), dst, 0);
    }

    /** All elements of a rank-1 float tensor (weights such as norm gammas) as F32. */
    static float[] vector(Tensor t, int expectedLength, String op, String name) {
        requireHost(t, op, name);
        if (t.rank() != 1 || t.dim(0) != expectedLength) {
            throw new TensorException(op + ": " + name + " must have shape [" + expectedLength + "], got " + t);
        }
        requireFloat(t, op, name);
        float[] v = new float[expectedLength];
        read(t, t.offset(), t.stride(0), expectedLength, v, 0);
        return v;
    }

    // ---------------------------------------------------------------- checks

    static void requireHost(Tensor t, String op, String name) {
        if (t == null) {
            throw new TensorException(op + ": " + name + " must not be null");
        }
        if (!t.device().isHost()) {
            throw new TensorException(op + ": " + name + " is on " + t.device() + "; the CPU backend needs host tensors");
        }
    }

    static void requireF32(Tensor t, String op, String name) {
        requireHost(t, op, name);
        if (t.dtype() != DType.F32) {
            throw new TensorException(op + ": " + name + " must be F32, got " + t);
        }
    }

    static void requireFloat(Tensor t, String op, String name) {
        requireHost(t, op, name);
        if (!t.dtype().isFloatingPoint()) {
            throw new TensorException(op + ": " + name + " must be F32, F16 or BF16, got " + t);
        }
    }

    /** An output: F32, contiguous, of exactly {@code shape}. */
    static void requireOut(Tensor out, int[] shape, String op) {
        requireF32(out, op, "out");
        if (!Arrays.equals(out.shape(), shape)) {
            throw new TensorException(op + ": out must have shape " + Arrays.toString(shape) + ", got " + out);
        }
        if (!contiguous(out)) {
            throw new TensorException(op + ": out must be contiguous, got " + out);
        }
    }

    /**
     * An output that may be 16-bit: F32, F16 or BF16, contiguous, of exactly {@code shape}. Ops that
     * accept one compute in F32 and round on store ({@link #writeRow}).
     */
    static void requireFloatOut(Tensor out, int[] shape, String op) {
        requireFloat(out, op, "out");
        if (!Arrays.equals(out.shape(), shape)) {
            throw new TensorException(op + ": out must have shape " + Arrays.toString(shape) + ", got " + out);
        }
        if (!contiguous(out)) {
            throw new TensorException(op + ": out must be contiguous, got " + out);
        }
    }

    /**
     * Stores row {@code r} (n F32 values) of a contiguous output: copied as is into F32, rounded to
     * nearest even into F16/BF16 ({@link DType#floatToBf16}, {@link Float#floatToFloat16}).
     */
    static void writeRow(Tensor out, int r, float[] row, int n) {
        if (out.dtype() == DType.F32) {
            MemorySegment.copy(row, 0, out.segment(), F32, out.byteOffset() + (long) r * n * 4, n);
        } else {
            write(out, out.offset() + (long) r * n, 1, n, row, 0);
        }
    }

    /** Contiguous, counting empty tensors as contiguous whatever their strides. */
    static boolean contiguous(Tensor t) {
        return t.numel() == 0 || t.isContiguous();
    }

    static void requireRank(Tensor t, int rank, String op, String name, String layout) {
        requireHost(t, op, name);
        if (t.rank() != rank) {
            throw new TensorException(op + ": " + name + " must be " + layout + " (rank " + rank + "), got " + t);
        }
    }
}
