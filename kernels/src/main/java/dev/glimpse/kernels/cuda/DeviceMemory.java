package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cudart.CUmemPoolHandle_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The backend's device-memory arena: CUDA's stream-ordered pool ({@code cudaMallocAsync} on the
 * backend's one stream) with its release threshold raised so freed blocks stay cached and
 * reallocating costs about a microsecond instead of a {@code cudaMalloc}. Frees are ordered on the
 * same stream, so a block is never reused before the kernels that read it have run.
 *
 * <p>Every live allocation is tracked: the optional budget ({@link CudaOptions#memoryBudget()})
 * is enforced on their sum, an allocation that does not fit names the bytes, the free memory,
 * the budget and the option to change, and {@link #close()} frees what callers left open.
 */
final class DeviceMemory implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceMemory.class);

    private final Device device;
    private final CUstream_st stream;
    private final long budget;
    private final CUmemPoolHandle_st pool = new CUmemPoolHandle_st();
    private final Map<Long, Long> live = new ConcurrentHashMap<>();
    private final AtomicLong inUse = new AtomicLong();
    /**
     * The out-cell of {@code cudaMallocAsync}, reused (under its lock) by every allocation: a fresh
     * JavaCPP pointer per allocation costs a native malloc and deallocator bookkeeping on the host,
     * and prefill and the vision tower allocate scratch for most operations.
     */
    private final PointerPointer<?> allocated = new PointerPointer<>(1);
    private volatile boolean closed;

    DeviceMemory(Device device, CUstream_st stream, long budget) {
        this.device = device;
        this.stream = stream;
        this.budget = budget;
        Cuda.check(cudart.cudaDeviceGetDefaultMemPool(pool, device.index()), "cudaDeviceGetDefaultMemPool");
        LongPointer keepAll = new LongPointer(1).put(-1L);
        Cuda.check(cudart.cudaMemPoolSetAttribute(pool, cudart.cudaMemPoolAttrReleaseThreshold, keepAll),
                "cudaMemPoolSetAttribute(ReleaseThreshold)");
        keepAll.close();
    }

    /** A contiguous device tensor owning fresh memory; zero-filled when {@code zero}. */
    Tensor tensor(DType dtype, int[] shape, boolean zero) {
        long bytes = Tensor.byteSize(dtype, shape);
        long address = allocate(bytes, () -> dtype + Arrays.toString(shape));
        if (zero && bytes > 0) {
            Cuda.check(cudart.cudaMemsetAsync(Cuda.at(address), 0, bytes, stream), "cudaMemsetAsync");
        }
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(Math.max(1, bytes));
        return Tensor.owning(segment, device, () -> free(address), dtype, shape);
    }

    /** Raw device bytes for scratch; give them back with {@link #free(long)}. */
    long allocate(long bytes, java.util.function.Supplier<String> what) {
        requireOpen();
        long size = Math.max(1, bytes);
        if (budget > 0 && inUse.get() + size > budget) {
            throw new CudaOutOfMemoryException(String.format(Locale.ROOT,
                    "%s: allocating %s for %s would exceed the CUDA memory budget of %s (%s already held in %d "
                            + "allocations); raise it with -D%s=<size> or %s=<size>, lower the token budget or batch, "
                            + "or run with --device cpu",
                    device, size(size), what.get(), size(budget), size(inUse.get()), live.size(),
                    CudaOptions.MEMORY_PROPERTY, CudaOptions.MEMORY_ENV));
        }
        long address;
        synchronized (allocated) {
            requireOpen();
            int status = cudart.cudaMallocAsync(allocated, size, stream);
            if (status == cudart.cudaErrorMemoryAllocation) {
                cudart.cudaGetLastError();
                Cuda.check(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
                cudart.cudaMemPoolTrimTo(pool, 0);
                status = cudart.cudaMallocAsync(allocated, size, stream);
            }
            if (status == cudart.cudaErrorMemoryAllocation) {
                cudart.cudaGetLastError();
                throw outOfMemory(size, what.get());
            }
            if (status != cudart.cudaSuccess) {
                Cuda.check(status, "cudaMallocAsync(" + size + " bytes)");
            }
            address = allocated.get(0).address();
        }
        live.put(address, size);
        inUse.addAndGet(size);
        return address;
    }

    /** Returns a block to the pool (stream-ordered). Unknown addresses and a closed arena are ignored. */
    void free(long address) {
        if (closed) {
            return;
        }
        Long size = live.remove(address);
        if (size != null) {
            inUse.addAndGet(-size);
            Cuda.check(cudart.cudaFreeAsync(Cuda.at(address), stream), "cudaFreeAsync");
        }
    }

    long bytesInUse() {
        return inUse.get();
    }

    /** Frees every allocation still live and trims the pool; tensors closed later are ignored. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!live.isEmpty()) {
            LOG.debug("freeing {} device allocations ({}) left open at backend close", live.size(), size(inUse.get()));
        }
        for (long address : live.keySet()) {
            cudart.cudaFreeAsync(Cuda.at(address), stream);
        }
        live.clear();
        cudart.cudaStreamSynchronize(stream);
        cudart.cudaMemPoolTrimTo(pool, 0);
        synchronized (allocated) {
            allocated.close();
        }
    }

    private CudaOutOfMemoryException outOfMemory(long size, String what) {
        SizeTPointer free = new SizeTPointer(1);
        SizeTPointer total = new SizeTPointer(1);
        cudart.cudaMemGetInfo(free, total);
        String message = String.format(Locale.ROOT,
                "%s is out of memory: allocating %s for %s failed with %s free of %s (Glimpse holds %s in %d "
                        + "allocations%s). Use a smaller model, token budget or batch, free other GPU processes, "
                        + "cap Glimpse's share with -D%s=<size> / %s=<size>, or run with --device cpu",
                device, size(size), what, size(free.get()), size(total.get()), size(inUse.get()), live.size(),
                budget > 0 ? ", budget " + size(budget) : "", CudaOptions.MEMORY_PROPERTY, CudaOptions.MEMORY_ENV);
        free.close();
        total.close();
        return new CudaOutOfMemoryException(message);
    }

    private void requireOpen() {
        if (closed) {
            throw new CudaException(device + ": the CUDA backend is closed; its memory cannot be used");
        }
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return bytes + " bytes";
    }
}
