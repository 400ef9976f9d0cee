package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The per-step integers of a replayed decode step (token id, positions, cache lengths): written
 * by the host into pinned memory, copied to a device I32 tensor by an asynchronous copy queued on
 * the backend's stream ({@link CudaBackend#upload(StepInputs)}), and read there by the kernels. A
 * copy queued inside a {@link StepGraph} capture reads the pinned values at replay time, so the
 * graph's kernel arguments never change. Made by {@link CudaBackend#stepInputs}; not thread-safe.
 * The pinned memory comes from the backend's {@link PinnedPool} and goes back there on close.
 */
public final class StepInputs implements AutoCloseable {

    private final CudaContext ctx;
    private final long pinned;
    private final MemorySegment host;
    private final Tensor device;
    private final int count;
    private boolean closed;

    StepInputs(CudaContext ctx, int count) {
        this.ctx = ctx;
        this.count = count;
        this.pinned = ctx.pinned.acquire(count * 4L);
        this.host = MemorySegment.ofAddress(pinned).reinterpret(count * 4L);
        try {
            this.device = ctx.memory.tensor(DType.I32, new int[] {count}, true);
        } catch (RuntimeException e) {
            ctx.pinned.release(pinned, count * 4L);
            throw e;
        }
    }

    /** Sets value {@code i} on the host; the next queued upload carries it to the device. */
    public void set(int i, int value) {
        host.setAtIndex(ValueLayout.JAVA_INT, i, value);
    }

    /** I32 [1] device view of value {@code i}. */
    public Tensor cell(int i) {
        return device.slice(0, i, i + 1);
    }

    public int count() {
        return count;
    }

    long hostAddress() {
        return host.address();
    }

    long deviceAddress() {
        return CudaContext.address(device);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        device.close();
        ctx.bindThread();
        ctx.pinned.release(pinned, count * 4L);
    }
}
