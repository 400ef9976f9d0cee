package dev.glimpse.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An n-dimensional array in off-heap memory: a {@link MemorySegment}, a dtype, a shape and
 * strides (in elements) from an element offset. Views ({@link #slice}, {@link #transpose},
 * {@link #reshape}, {@link #select}) share memory and never copy.
 *
 * <p>Lifetime is explicit: a tensor made by {@link #allocate} owns its memory and frees it on
 * {@link #close()}; views and tensors made by {@link #wrap} or with a caller's {@link Arena} own
 * nothing, and closing them does nothing. Using a view after its owner is closed throws.
 *
 * <p>Element access ({@link #get}, {@link #set}, {@link #toFloatArray}) is for tests, I/O and
 * small host-side work; hot loops belong to a {@link Backend}.
 */
public final class Tensor implements AutoCloseable {

    /** Alignment of allocated storage: a cache line, and enough for any vector width. */
    public static final long ALIGNMENT = 64;

    private static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16_LAYOUT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32_LAYOUT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64_LAYOUT = ValueLayout.JAVA_LONG_UNALIGNED;

    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private final MemorySegment data;
    private final Device device;
    private final Arena owner;
    private final Release release;

    private Tensor(DType dtype, int[] shape, long[] strides, long offset, MemorySegment data,
                   Device device, Arena owner) {
        this(dtype, shape, strides, offset, data, device, owner, null);
    }

    private Tensor(DType dtype, int[] shape, long[] strides, long offset, MemorySegment data,
                   Device device, Arena owner, Release release) {
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.data = data;
        this.device = device;
        this.owner = owner;
        this.release = release;
    }

    /** Runs a tensor's free action at most once, whichever thread closes it first. */
    private static final class Release {
        private final Runnable action;
        private final AtomicBoolean done = new AtomicBoolean();

        Release(Runnable action) {
            this.action = action;
        }

        void run() {
            if (done.compareAndSet(false, true)) {
                action.run();
            }
        }
    }

    // ---------------------------------------------------------------- construction

    /** A zero-filled host tensor that owns its memory (freed by {@link #close()}). */
    public static Tensor allocate(DType dtype, int... shape) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment = arena.allocate(Math.max(1, byteSize(dtype, shape)), ALIGNMENT);
            return new Tensor(dtype, shape.clone(), contiguousStrides(shape), 0, segment, Device.CPU, arena);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A zero-filled host tensor whose memory lives as long as {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, int... shape) {
        MemorySegment segment = arena.allocate(Math.max(1, byteSize(dtype, shape)), ALIGNMENT);
        return new Tensor(dtype, shape.clone(), contiguousStrides(shape), 0, segment, Device.CPU, null);
    }

    /** A contiguous view over existing host memory (e.g. a memory-mapped checkpoint); no copy. */
    public static Tensor wrap(MemorySegment segment, DType dtype, int... shape) {
        return wrap(segment, Device.CPU, dtype, shape);
    }

    /**
     * A contiguous view over memory on {@code device}. For device memory the segment only carries
     * the address and size; reading it from Java is an error the backend must prevent.
     */
    public static Tensor wrap(MemorySegment segment, Device device, DType dtype, int... shape) {
        long need = byteSize(dtype, shape);
        if (segment.byteSize() < need) {
            throw new TensorException("segment of " + segment.byteSize() + " bytes cannot hold "
                    + dtype + Arrays.toString(shape) + " (" + need + " bytes)");
        }
        return new Tensor(dtype, shape.clone(), contiguousStrides(shape), 0, segment, device, null);
    }

    /**
     * A contiguous tensor that owns memory a backend allocated (e.g. on a GPU): {@link #close()}
     * runs {@code free} once. Views of it own nothing; the backend that allocated the memory must
     * outlive their use, since device memory cannot be checked for use after free from Java.
     */
    public static Tensor owning(MemorySegment segment, Device device, Runnable free, DType dtype, int... shape) {
        long need = byteSize(dtype, shape);
        if (segment.byteSize() < need) {
            throw new TensorException("segment of " + segment.byteSize() + " bytes cannot hold "
                    + dtype + Arrays.toString(shape) + " (" + need + " bytes)");
        }
        return new Tensor(dtype, shape.clone(), contiguousStrides(shape), 0, segment, device, null, new Release(free));
    }

    /**
     * A view of the same memory with explicit strides and offset (both in elements). The caller
     * guarantees the strides stay inside the segment; this is checked.
     */
    public static Tensor strided(MemorySegment segment, Device device, DType dtype, int[] shape,
                                 long[] strides, long offset) {
        Tensor t = new Tensor(dtype, shape.clone(), strides.clone(), offset, segment, device, null);
        t.checkBounds();
        return t;
    }

    /** A new F32 host tensor holding {@code values} in row-major order. */
    public static Tensor of(float[] values, int... shape) {
        Tensor t = allocate(DType.F32, shape);
        if (t.numel() != values.length) {
            t.close();
            throw new TensorException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        MemorySegment.copy(values, 0, t.data, F32_LAYOUT, 0, values.length);
        return t;
    }

    /** A new I32 host tensor holding {@code values} in row-major order. */
    public static Tensor ofInts(int[] values, int... shape) {
        Tensor t = allocate(DType.I32, shape);
        if (t.numel() != values.length) {
            t.close();
            throw new TensorException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        MemorySegment.copy(values, 0, t.data, I32_LAYOUT, 0, values.length);
        return t;
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] < 0) {
                throw new TensorException("negative dimension in shape " + Arrays.toString(shape));
            }
            strides[i] = s;
            s *= Math.max(1, shape[i]);
        }
        return strides;
    }

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new TensorException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public static long byteSize(DType dtype, int... shape) {
        return Math.multiplyExact(numel(shape), dtype.byteSize());
    }

    // ---------------------------------------------------------------- metadata

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int axis) {
        return shape[axis(axis)];
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return numel(shape);
    }

    public long[] strides() {
        return strides.clone();
    }

    public long stride(int axis) {
        return strides[axis(axis)];
    }

    /** Offset of the first element from the segment's start, in elements. */
    public long offset() {
        return offset;
    }

    /** Offset of the first element from the segment's start, in bytes. */
    public long byteOffset() {
        return offset * dtype.byteSize();
    }

    /** The whole underlying storage; elements start at {@link #byteOffset()}. */
    public MemorySegment segment() {
        return data;
    }

    public Device device() {
        return device;
    }

    /** True when elements are laid out row-major without gaps (views of a prefix qualify; empty tensors do). */
    public boolean isContiguous() {
        if (numel() == 0) {
            return true;
        }
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != s) {
                return false;
            }
            s *= shape[i];
        }
        return true;
    }

    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    // ---------------------------------------------------------------- views

    /** Same elements, new shape; one dimension may be -1. Requires a contiguous tensor. */
    public Tensor reshape(int... newShape) {
        int[] resolved = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.length; i++) {
            if (resolved[i] == -1) {
                if (infer >= 0) {
                    throw new TensorException("reshape " + Arrays.toString(newShape) + ": more than one -1");
                }
                infer = i;
            } else {
                known *= resolved[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new TensorException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
            }
            resolved[infer] = (int) (numel() / known);
        }
        if (numel(resolved) != numel()) {
            throw new TensorException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        if (!isContiguous()) {
            throw new TensorException("reshape needs a contiguous tensor; shape " + Arrays.toString(shape)
                    + " strides " + Arrays.toString(strides) + " (copy it first)");
        }
        return new Tensor(dtype, resolved, contiguousStrides(resolved), offset, data, device, null);
    }

    /** Elements {@code [start, end)} along {@code axis}; no copy. */
    public Tensor slice(int axis, int start, int end) {
        int a = axis(axis);
        if (start < 0 || end < start || end > shape[a]) {
            throw new TensorException("slice [" + start + ", " + end + ") out of range for dim " + a
                    + " of size " + shape[a]);
        }
        int[] s = shape.clone();
        s[a] = end - start;
        return new Tensor(dtype, s, strides.clone(), offset + start * strides[a], data, device, null);
    }

    /** The sub-tensor at {@code index} along {@code axis}, one rank lower; no copy. */
    public Tensor select(int axis, int index) {
        int a = axis(axis);
        if (index < 0 || index >= shape[a]) {
            throw new TensorException("index " + index + " out of range for dim " + a + " of size " + shape[a]);
        }
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != a) {
                s[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return new Tensor(dtype, s, st, offset + index * strides[a], data, device, null);
    }

    /** Swaps two axes; no copy. */
    public Tensor transpose(int axisA, int axisB) {
        int a = axis(axisA);
        int b = axis(axisB);
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(dtype, s, st, offset, data, device, null);
    }

    /** This tensor if contiguous, else a contiguous host copy that owns its memory. */
    public Tensor contiguous() {
        if (isContiguous()) {
            return this;
        }
        Tensor copy = allocate(dtype, shape);
        copyElementsTo(copy);
        return copy;
    }

    // ---------------------------------------------------------------- element access (host)

    /** Offset in elements of the element at {@code index}. */
    public long elementOffset(int... index) {
        if (index.length != shape.length) {
            throw new TensorException("index of rank " + index.length + " for tensor of rank " + shape.length);
        }
        long o = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new TensorException("index " + Arrays.toString(index) + " out of bounds for shape "
                        + Arrays.toString(shape));
            }
            o += index[i] * strides[i];
        }
        return o;
    }

    /** The element at {@code index} as a float (any dtype). */
    public float get(int... index) {
        return readFloat(elementOffset(index));
    }

    public void set(float value, int... index) {
        writeFloat(elementOffset(index), value);
    }

    /** The element at {@code index} as a long (integer dtypes, or floats truncated). */
    public long getLong(int... index) {
        long o = elementOffset(index);
        requireHost();
        return switch (dtype) {
            case I32 -> data.getAtIndex(I32_LAYOUT, o);
            case I64 -> data.getAtIndex(I64_LAYOUT, o);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
            default -> (long) readFloat(o);
        };
    }

    /** All elements in row-major logical order, converted to float. */
    public float[] toFloatArray() {
        requireHost();
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new TensorException("tensor of " + n + " elements is too large for a Java array");
        }
        float[] out = new float[(int) n];
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, F32_LAYOUT, byteOffset(), out, 0, out.length);
            return out;
        }
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = readFloat(offsetOf(idx));
            increment(idx);
        }
        return out;
    }

    /** All elements in row-major logical order as ints (integer dtypes). */
    public int[] toIntArray() {
        requireHost();
        long n = numel();
        int[] out = new int[Math.toIntExact(n)];
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            long o = offsetOf(idx);
            out[i] = switch (dtype) {
                case I32 -> data.getAtIndex(I32_LAYOUT, o);
                case I64 -> Math.toIntExact(data.getAtIndex(I64_LAYOUT, o));
                case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, o) & 0xFF;
                default -> (int) readFloat(o);
            };
            increment(idx);
        }
        return out;
    }

    /** Writes {@code values} in row-major logical order, converting to this dtype. */
    public void copyFrom(float[] values) {
        requireHost();
        if (values.length != numel()) {
            throw new TensorException(values.length + " values for a tensor of " + numel() + " elements");
        }
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(values, 0, data, F32_LAYOUT, byteOffset(), values.length);
            return;
        }
        int[] idx = new int[shape.length];
        for (float v : values) {
            writeFloat(offsetOf(idx), v);
            increment(idx);
        }
    }

    /** Copies every element into {@code dst} (same shape, any dtypes, any strides); host only. */
    public void copyElementsTo(Tensor dst) {
        requireHost();
        dst.requireHost();
        if (!Arrays.equals(shape, dst.shape)) {
            throw new TensorException("copy " + Arrays.toString(shape) + " into " + Arrays.toString(dst.shape));
        }
        long n = numel();
        if (dtype == dst.dtype && isContiguous() && dst.isContiguous()) {
            MemorySegment.copy(data, byteOffset(), dst.data, dst.byteOffset(), n * dtype.byteSize());
            return;
        }
        int[] idx = new int[shape.length];
        for (long i = 0; i < n; i++) {
            dst.writeFloatOrInt(dst.offsetOf(idx), this, offsetOf(idx));
            increment(idx);
        }
    }

    /** Frees the memory if this tensor owns it; otherwise does nothing. Idempotent. */
    @Override
    public void close() {
        if (owner != null && owner.scope().isAlive()) {
            owner.close();
        }
        if (release != null) {
            release.run();
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + device
                + (isContiguous() ? "" : " strides " + Arrays.toString(strides));
    }

    // ---------------------------------------------------------------- internals

    private int axis(int axis) {
        int a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a >= shape.length) {
            throw new TensorException("axis " + axis + " out of range for rank " + shape.length);
        }
        return a;
    }

    private void requireHost() {
        if (!device.isHost()) {
            throw new TensorException("tensor on " + device + " cannot be read from the host; download it first");
        }
    }

    private void checkBounds() {
        if (numel() == 0) {
            return;
        }
        long max = offset;
        long min = offset;
        for (int i = 0; i < shape.length; i++) {
            long span = (shape[i] - 1L) * strides[i];
            if (span > 0) {
                max += span;
            } else {
                min += span;
            }
        }
        if (min < 0 || (max + 1) * dtype.byteSize() > data.byteSize()) {
            throw new TensorException("view " + Arrays.toString(shape) + " strides " + Arrays.toString(strides)
                    + " offset " + offset + " reaches outside its " + data.byteSize() + "-byte storage");
        }
    }

    private long offsetOf(int[] idx) {
        long o = offset;
        for (int i = 0; i < idx.length; i++) {
            o += idx[i] * strides[i];
        }
        return o;
    }

    private void increment(int[] idx) {
        for (int i = idx.length - 1; i >= 0; i--) {
            if (++idx[i] < shape[i]) {
                return;
            }
            idx[i] = 0;
        }
    }

    private float readFloat(long elementOffset) {
        requireHost();
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LAYOUT, elementOffset);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16_LAYOUT, elementOffset));
            case F16 -> DType.f16ToFloat(data.getAtIndex(I16_LAYOUT, elementOffset));
            case I32 -> data.getAtIndex(I32_LAYOUT, elementOffset);
            case I64 -> data.getAtIndex(I64_LAYOUT, elementOffset);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, elementOffset) & 0xFF;
        };
    }

    private void writeFloat(long elementOffset, float v) {
        requireHost();
        switch (dtype) {
            case F32 -> data.setAtIndex(F32_LAYOUT, elementOffset, v);
            case BF16 -> data.setAtIndex(I16_LAYOUT, elementOffset, DType.floatToBf16(v));
            case F16 -> data.setAtIndex(I16_LAYOUT, elementOffset, DType.floatToF16(v));
            case I32 -> data.setAtIndex(I32_LAYOUT, elementOffset, (int) v);
            case I64 -> data.setAtIndex(I64_LAYOUT, elementOffset, (long) v);
            case U8 -> data.set(ValueLayout.JAVA_BYTE, elementOffset, (byte) (int) v);
            case BOOL -> data.set(ValueLayout.JAVA_BYTE, elementOffset, (byte) (v != 0 ? 1 : 0));
        }
    }

    private void writeFloatOrInt(long dstOffset, Tensor src, long srcOffset) {
        if (!dtype.isFloatingPoint() && !src.dtype.isFloatingPoint()) {
            long v = switch (src.dtype) {
                case I32 -> src.data.getAtIndex(I32_LAYOUT, srcOffset);
                case I64 -> src.data.getAtIndex(I64_LAYOUT, srcOffset);
                default -> src.data.get(ValueLayout.JAVA_BYTE, srcOffset) & 0xFF;
            };
            switch (dtype) {
                case I32 -> data.setAtIndex(I32_LAYOUT, dstOffset, (int) v);
                case I64 -> data.setAtIndex(I64_LAYOUT, dstOffset, v);
                case U8 -> data.set(ValueLayout.JAVA_BYTE, dstOffset, (byte) v);
                default -> data.set(ValueLayout.JAVA_BYTE, dstOffset, (byte) (v != 0 ? 1 : 0));
            }
        } else {
            writeFloat(dstOffset, src.readFloat(srcOffset));
        }
    }
}
