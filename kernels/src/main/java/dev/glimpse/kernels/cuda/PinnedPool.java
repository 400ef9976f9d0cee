package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Page-locked host buffers kept for reuse by {@link StepInputs} and staging tensors
 * ({@link CudaBackend#stagingTensor}). Every decode session needs one,
 * and {@code cudaMallocHost} pins pages on the host while {@code cudaFreeHost} waits for the whole
 * device, so without the pool each request paid both, the first inside its time to first token
 * (an H200 profile of LLaVA-7B requests showed {@code cudaMallocHost} in a third as many host
 * samples as every cuBLASLt call of the request together).
 *
 * <p>A released buffer goes back with an event recorded on the stream behind the copies queued
 * from it; it is handed out again only once that event has completed (at once in practice: a
 * session's last upload ran before its last token was read), so a new owner never overwrites
 * values a queued copy has yet to read. At most {@value #KEEP_PER_SIZE} free buffers of each size
 * are kept, and at most {@link #KEEP_BYTES} in all; the rest are freed once their copies ran. Everything is
 * freed when the context closes.
 */
final class PinnedPool implements AutoCloseable {

    static final int KEEP_PER_SIZE = 8;

    /** Most bytes of released buffers kept for reuse, over every size (staging tensors reach hundreds of MB). */
    static final long KEEP_BYTES = 256L << 20;

    private record Free(long address, CUevent_st released) {
    }

    private final CUstream_st stream;
    private final Map<Long, ArrayDeque<Free>> free = new HashMap<>();
    private long allocations;
    private long keptBytes;

    PinnedPool(CUstream_st stream) {
        this.stream = stream;
    }

    /** A pinned buffer of {@code bytes}: a released one of that size when there is one, else a new one. */
    synchronized long acquire(long bytes) {
        long address = tryAcquire(bytes);
        if (address == 0) {
            throw new CudaException("cudaMallocHost(" + bytes + " bytes) failed: the host could not page-lock that much"
                    + " memory (cudaErrorMemoryAllocation)");
        }
        return address;
    }

    /**
     * {@link #acquire}, or 0 when a new buffer is needed and the host cannot page-lock {@code bytes} more
     * ({@code cudaMallocHost} returns {@code cudaErrorMemoryAllocation}, a limit pageable memory may not have: a
     * container's, or a large video's staging); the error is cleared, so no later error check reports it.
     */
    synchronized long tryAcquire(long bytes) {
        ArrayDeque<Free> ready = free.get(bytes);
        Free reused = ready == null ? null : ready.pollFirst();
        if (reused != null) {
            keptBytes -= bytes;
            Cuda.check(cudart.cudaEventSynchronize(reused.released()), "cudaEventSynchronize(pinned buffer release)");
            cudart.cudaEventDestroy(reused.released());
            return reused.address();
        }
        try (PointerPointer<?> out = new PointerPointer<>(1)) {
            int status = cudart.cudaMallocHost(out, bytes);
            if (status == cudart.cudaErrorMemoryAllocation) {
                cudart.cudaGetLastError();
                return 0;
            }
            Cuda.check(status, "cudaMallocHost(" + bytes + " bytes)");
            allocations++;
            return out.get(0).address();
        }
    }

    /**
     * Takes back {@code address} ({@code bytes} long) once the copies queued from it so far have run: kept for
     * reuse while fewer than {@value #KEEP_PER_SIZE} of its size and at most {@link #KEEP_BYTES} in all are kept,
     * else freed after those copies (waited for here: {@code cudaFreeHost} is not documented to wait for them).
     */
    synchronized void release(long address, long bytes) {
        ArrayDeque<Free> ready = free.computeIfAbsent(bytes, b -> new ArrayDeque<>());
        CUevent_st event = new CUevent_st();
        Cuda.check(cudart.cudaEventCreateWithFlags(event, cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags");
        Cuda.check(cudart.cudaEventRecord(event, stream), "cudaEventRecord(pinned buffer release)");
        if (ready.size() >= KEEP_PER_SIZE || keptBytes + bytes > KEEP_BYTES) {
            try {
                Cuda.check(cudart.cudaEventSynchronize(event), "cudaEventSynchronize(pinned buffer free)");
            } finally {
                cudart.cudaEventDestroy(event);
                cudart.cudaFreeHost(Cuda.at(address));
            }
            return;
        }
        keptBytes += bytes;
        ready.addLast(new Free(address, event));
    }

    /** Buffers pinned with {@code cudaMallocHost} so far (reuses do not count); for tests. */
    synchronized long allocations() {
        return allocations;
    }

    /** Frees every kept buffer; call after the stream has drained. */
    @Override
    public synchronized void close() {
        for (ArrayDeque<Free> ready : free.values()) {
            for (Free f : ready) {
                cudart.cudaEventDestroy(f.released());
                cudart.cudaFreeHost(Cuda.at(f.address()));
            }
        }
        free.clear();
    }
}
