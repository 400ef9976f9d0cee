package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Builds one kernel launch's arguments and launches it with {@code cuLaunchKernel}. The driver
 * takes {@code void** kernelParams}: one pointer per argument to a host cell holding its value.
 * Cells and the pointer array live in one native block reused by every launch of the backend
 * (the driver copies the values at launch), so a launch allocates nothing. Not thread-safe: the
 * backend serialises its operations.
 */
final class Launch implements AutoCloseable {

    private static final int MAX_ARGS = 32;
    private static final int CELL_BYTES = 2048;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment cells = arena.allocate(CELL_BYTES, 16);
    private final long cellsAddress = cells.address();
    private final MemorySegment params = arena.allocate(MAX_ARGS * 8L, 16);
    /** The pointer array as JavaCPP's void** (its Pointer overload of cuLaunchKernel rejects a null extra). */
    private final PointerPointer<?> kernelParams = new PointerPointer<>(Cuda.at(params.address()));
    private final CUstream_st stream;
    private CUfunc_st function;
    private String name;
    private int count;
    private long used;

    Launch(CUstream_st stream) {
        this.stream = stream;
    }

    /** Starts a launch of {@code f} (named for error messages). */
    Launch of(CUfunc_st f, String kernelName) {
        function = f;
        name = kernelName;
        count = 0;
        used = 0;
        return this;
    }

    Launch ptr(long deviceAddress) {
        cells.set(ValueLayout.JAVA_LONG, cell(8), deviceAddress);
        return this;
    }

    Launch i32(int value) {
        cells.set(ValueLayout.JAVA_INT, cell(4), value);
        return this;
    }

    Launch i64(long value) {
        cells.set(ValueLayout.JAVA_LONG, cell(8), value);
        return this;
    }

    Launch f32(float value) {
        cells.set(ValueLayout.JAVA_FLOAT, cell(4), value);
        return this;
    }

    /** A struct passed by value: its bytes, laid out as the kernel's C struct. */
    Launch struct(MemorySegment bytes) {
        MemorySegment.copy(bytes, 0, cells, cell(bytes.byteSize()), bytes.byteSize());
        return this;
    }

    /** Launches on the backend's stream: grid (gx, gy), block of {@code threads}, dynamic shared bytes. */
    void run(long gx, int gy, int threads, int sharedBytes) {
        if (gx <= 0 || gy <= 0) {
            return;
        }
        if (gx > Integer.MAX_VALUE) {
            throw new CudaException(name + ": grid of " + gx + " blocks is too large");
        }
        int status = cudart.cuLaunchKernel(function, (int) gx, gy, 1, threads, 1, 1, sharedBytes, stream,
                kernelParams, (PointerPointer<?>) null);
        if (status != cudart.CUDA_SUCCESS) {
            Cuda.checkDriver(status, "cuLaunchKernel(" + name + ")");
        }
    }

    /** The offset in {@link #cells} of the next argument's cell of {@code bytes}, entered in the pointer array. */
    private long cell(long bytes) {
        if (count == MAX_ARGS || used + bytes > CELL_BYTES) {
            throw new IllegalStateException(name + ": too many kernel arguments");
        }
        long offset = used;
        params.setAtIndex(ValueLayout.JAVA_LONG, count++, cellsAddress + offset);
        used = (used + bytes + 15) & ~15L;
        return offset;
    }

    @Override
    public void close() {
        arena.close();
    }
}
