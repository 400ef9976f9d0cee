package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;

/**
 * L2 prefetches of a device tensor's leading bytes ({@code prefetch.cu}) on a side stream, forked
 * from the backend's stream and joined back to it with events: the prefetch starts once everything
 * queued before the fork has finished and runs beside the kernels queued after it; the stream waits
 * for it only at {@link #join}. Stream capture follows the side stream through the fork event's wait,
 * so inside {@link CudaBackend#capture} the prefetch becomes a parallel branch of the graph (capture
 * requires the branch to join the origin stream before it ends: {@code capture} joins any pending
 * one). A prefetch writes nothing, so it changes no value anywhere.
 *
 * <p>The side stream and events are created with the backend (not on the first fork, which may come
 * inside a capture); the kernels load on the first fork, so capture a prefill after running it once,
 * as every captured path here does. Not thread-safe: the backend serialises its operations.
 */
final class CudaL2Prefetch implements AutoCloseable {

    /** Bytes per {@code cp.async.bulk.prefetch.L2} of {@link L2PrefetchMode#BULK} (a multiple of 16, as the instruction needs). */
    static final int BULK_CHUNK_BYTES = 16 * 1024;
    private static final int THREADS = 256;
    private static final int LINE_BYTES = 128;
    private static final int BULK_ALIGNMENT = 16;

    private final CudaContext ctx;
    private final CUstream_st side = new CUstream_st();
    private final CUevent_st fork;
    private final CUevent_st joined;
    private final Launch launch;
    private boolean pending;
    private long forked;

    /** A side stream and its fork and join events on {@code ctx}'s device (bound on the calling thread). */
    CudaL2Prefetch(CudaContext ctx) {
        this.ctx = ctx;
        Cuda.check(cudart.cudaStreamCreateWithFlags(side, cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags(L2 prefetch)");
        fork = event();
        joined = event();
        launch = new Launch(side);
    }

    /**
     * Queues a prefetch into L2 of the first {@code bytes} bytes of {@code t} (all of it when shorter)
     * on the side stream, after the work queued so far on the backend's stream. Does nothing for
     * {@link L2PrefetchMode#OFF} or no bytes.
     *
     * @throws IllegalArgumentException when {@code t} is not a contiguous tensor on this device
     */
    void fork(Tensor t, long bytes, L2PrefetchMode mode) {
        if (!t.device().equals(ctx.device) || !t.isContiguous()) {
            throw new IllegalArgumentException("an L2 prefetch needs a contiguous tensor on " + ctx.device + ", not "
                    + t.device() + " " + t);
        }
        long span = Math.min(bytes, t.numel() * t.dtype().byteSize());
        if (mode == L2PrefetchMode.OFF || span <= 0) {
            return;
        }
        long address = CudaContext.address(t);
        Cuda.check(cudart.cudaEventRecord(fork, ctx.stream), "cudaEventRecord(L2 prefetch fork)");
        Cuda.check(cudart.cudaStreamWaitEvent(side, fork, 0), "cudaStreamWaitEvent(L2 prefetch fork)");
        long bulkSpan = span & -BULK_ALIGNMENT;
        if (mode == L2PrefetchMode.BULK && address % BULK_ALIGNMENT == 0 && bulkSpan > 0) {
            launch.of(ctx.kernels.function("prefetch", "l2_prefetch_bulk"), "l2_prefetch_bulk")
                    .ptr(address).i64(bulkSpan).i32(BULK_CHUNK_BYTES)
                    .run(blocks((bulkSpan + BULK_CHUNK_BYTES - 1) / BULK_CHUNK_BYTES), 1, THREADS, 0);
        } else {
            launch.of(ctx.kernels.function("prefetch", "l2_prefetch_lines"), "l2_prefetch_lines")
                    .ptr(address).i64(span).run(blocks((span + LINE_BYTES - 1) / LINE_BYTES), 1, THREADS, 0);
        }
        Cuda.check(cudart.cudaEventRecord(joined, side), "cudaEventRecord(L2 prefetch join)");
        pending = true;
        forked++;
    }

    /** Makes the backend's stream wait for every prefetch forked so far (none pending: nothing queued). */
    void join() {
        if (pending) {
            pending = false;
            Cuda.check(cudart.cudaStreamWaitEvent(ctx.stream, joined, 0), "cudaStreamWaitEvent(L2 prefetch join)");
        }
    }

    /** Prefetches forked so far. */
    long forked() {
        return forked;
    }

    /** True while a forked prefetch has not been joined. */
    boolean pending() {
        return pending;
    }

    /** At most one block per multiprocessor: the prefetch shares the GPU with the kernels it runs beside. */
    private long blocks(long units) {
        return Math.max(1, Math.min((units + THREADS - 1) / THREADS, ctx.multiprocessors));
    }

    private static CUevent_st event() {
        CUevent_st e = new CUevent_st();
        Cuda.check(cudart.cudaEventCreateWithFlags(e, cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags(L2 prefetch)");
        return e;
    }

    @Override
    public void close() {
        cudart.cudaStreamSynchronize(side);
        cudart.cudaEventDestroy(fork);
        cudart.cudaEventDestroy(joined);
        launch.close();
        cudart.cudaStreamDestroy(side);
    }
}
