package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUlaunchAttribute;
import org.bytedeco.cuda.cudart.CUlaunchConfig;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Builds one kernel launch's arguments and launches it with {@code cuLaunchKernel}. The driver
 * takes {@code void** kernelParams}: one pointer per argument to a host cell holding its value.
 * Cells and the pointer array live in one native block reused by every launch of the backend
 * (the driver copies the values at launch), so a launch allocates nothing. Not thread-safe: the
 * backend serialises its operations.
 *
 * <p>A kernel that waits for its predecessor is launched with {@code cuLaunchKernelEx} and
 * programmatic stream serialization (it may start before the previous kernel ends) on GPUs of
 * compute capability {@value GridDependency#MIN_MAJOR}.0 or newer where {@link GridDependency#programmatic}
 * says so (a decode-step kernel while PDL is on; a prefill or vision kernel also only under
 * {@code -Dglimpse.cuda.pdlPrefill=true}); every other launch keeps plain stream order. The choice follows
 * the kernel's name alone, so no caller can give the attribute to a kernel without the wait. Should
 * the driver refuse such a launch, it is retried in plain stream order and every later launch of
 * this backend keeps that order (logged once).
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
    private static final Logger LOG = LoggerFactory.getLogger(Launch.class);

    /** True on a device of compute capability 9.0 or newer (the current device at construction) until a programmatic launch fails. */
    private boolean dependentLaunches;
    /** The cuLaunchKernelEx configuration and its one attribute, reused by every programmatic launch. */
    private final CUlaunchConfig config = new CUlaunchConfig();
    private final CUlaunchAttribute serialization = new CUlaunchAttribute();
    private CUfunc_st function;
    private String name;
    private boolean programmatic;
    private int count;
    private long used;

    /** A launcher on {@code stream} of the current device. */
    Launch(CUstream_st stream) {
        this.stream = stream;
        int[] device = new int[1];
        int[] major = new int[1];
        Cuda.check(cudart.cudaGetDevice(device), "cudaGetDevice");
        Cuda.check(cudart.cudaDeviceGetAttribute(major, cudart.cudaDevAttrComputeCapabilityMajor, device[0]),
                "cudaDeviceGetAttribute(compute capability)");
        dependentLaunches = major[0] >= GridDependency.MIN_MAJOR;
        serialization.id(cudart.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        serialization.value().programmaticStreamSerializationAllowed(1);
        config.blockDimY(1).blockDimZ(1).hStream(stream).attrs(serialization).numAttrs(1);
    }

    /** True while this device takes programmatic dependent launches (compute capability 9.0+, none refused yet). */
    boolean dependentLaunches() {
        return dependentLaunches;
    }

    /** Starts a launch of {@code f} (named for error messages, and for {@link GridDependency#waits}). */
    Launch of(CUfunc_st f, String kernelName) {
        function = f;
        name = kernelName;
        programmatic = dependentLaunches && GridDependency.programmatic(kernelName);
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

    Launch f64(double value) {
        cells.set(ValueLayout.JAVA_DOUBLE, cell(8), value);
        return this;
    }

    /** A struct passed by value: its bytes, laid out as the kernel's C struct. */
    Launch struct(MemorySegment bytes) {
        MemorySegment.copy(bytes, 0, cells, cell(bytes.byteSize()), bytes.byteSize());
        return this;
    }

    /** Launches on the backend's stream: grid (gx, gy), block of {@code threads}, dynamic shared bytes. */
    void run(long gx, int gy, int threads, int sharedBytes) {
        run(gx, gy, 1, threads, sharedBytes);
    }

    /** Launches on the backend's stream: grid (gx, gy, gz), block of {@code threads}, dynamic shared bytes. */
    void run(long gx, int gy, int gz, int threads, int sharedBytes) {
        if (gx <= 0 || gy <= 0 || gz <= 0) {
            return;
        }
        if (gx > Integer.MAX_VALUE) {
            throw new CudaException(name + ": grid of " + gx + " blocks is too large");
        }
        if (programmatic) {
            config.gridDimX((int) gx).gridDimY(gy).gridDimZ(gz).blockDimX(threads).sharedMemBytes(sharedBytes);
            int status = cudart.cuLaunchKernelEx(config, function, kernelParams, (PointerPointer<?>) null);
            if (status == cudart.CUDA_SUCCESS) {
                return;
            }
            dependentLaunches = false;
            LOG.warn("cuLaunchKernelEx({}) with programmatic stream serialization failed (driver error {}); "
                    + "launching every kernel in plain stream order from now on (-D{}=false does so from the start)",
                    name, status, GridDependency.PROPERTY);
        }
        int status = cudart.cuLaunchKernel(function, (int) gx, gy, gz, threads, 1, 1, sharedBytes, stream,
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
        config.close();
        serialization.close();
        arena.close();
    }
}
