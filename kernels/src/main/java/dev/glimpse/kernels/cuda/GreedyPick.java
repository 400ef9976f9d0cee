package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The greedy token of a decode step picked on the device for decode lookahead: the argmax of the
 * logits (decode_fused.cu's two passes, the tie rule of {@link CudaBackend#argmax}) is written into
 * a device I32 cell (the next step's token id in its {@link StepInputs}) and copied asynchronously into
 * a pinned slot, behind which an event is recorded. The host can so queue the next step, which
 * reads the token from the cell, before it waits ({@link #await}) for this one's token. Holds its
 * candidate buffers, slot and event, so a pick allocates nothing. Made by
 * {@link CudaBackend#greedyPick}, queued by {@link CudaBackend#pickGreedy}; not thread-safe.
 */
public final class GreedyPick implements AutoCloseable {

    private final CudaContext ctx;
    private final int vocab;
    private final Tensor candValues;
    private final Tensor candIndices;
    private final long pinned;
    private final MemorySegment slot;
    private final CUevent_st landed = new CUevent_st();
    private boolean queued;
    private boolean closed;

    GreedyPick(CudaContext ctx, int vocab) {
        if (vocab < 1) {
            throw new IllegalArgumentException("greedy pick over an empty vocabulary");
        }
        this.ctx = ctx;
        this.vocab = vocab;
        int blocks = CudaPointwise.argmaxBlocks(vocab);
        this.candValues = ctx.memory.tensor(DType.F32, new int[] {1, blocks}, false);
        this.candIndices = ctx.memory.tensor(DType.I32, new int[] {1, blocks}, false);
        this.pinned = ctx.pinned.acquire(4L);
        this.slot = MemorySegment.ofAddress(pinned).reinterpret(4L);
        Cuda.check(cudart.cudaEventCreateWithFlags(landed, cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags");
    }

    /** Queues the argmax of {@code logits} (F32 [1, vocab], contiguous) into {@code cell} and its copy to the slot. */
    void enqueue(CudaPointwise pointwise, Tensor logits, Tensor cell) {
        if (logits.dtype() != DType.F32 || logits.numel() != vocab || !Checks.contiguous(logits)) {
            throw new IllegalArgumentException("greedy pick takes contiguous F32 logits of " + vocab + " values, got " + logits);
        }
        if (cell.dtype() != DType.I32 || cell.numel() != 1) {
            throw new IllegalArgumentException("greedy pick writes one I32 cell, got " + cell);
        }
        pointwise.argmaxTwoPass(logits, vocab, 1, vocab, candValues, candIndices, cell);
        Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(pinned), Cuda.at(CudaContext.address(cell)), 4L,
                cudart.cudaMemcpyDeviceToHost, ctx.stream), "cudaMemcpyAsync(greedy token)");
        Cuda.check(cudart.cudaEventRecord(landed, ctx.stream), "cudaEventRecord(greedy token)");
        queued = true;
    }

    /** Waits for the last queued pick's token to land in the slot and returns it. */
    public int await() {
        if (!queued) {
            throw new IllegalStateException("no greedy pick was queued");
        }
        Cuda.check(cudart.cudaEventSynchronize(landed), "cudaEventSynchronize(greedy token)");
        return slot.get(ValueLayout.JAVA_INT, 0);
    }

    /**
     * Waits for the last queued pick's copy to land, if one is queued, and forgets it: {@link #await} then throws
     * until the next {@link #enqueue}. For a pick that outlives its user (kept with pooled session buffers for the
     * next session): whatever way the last user ended (its pick awaited or not), the next one finds no pick queued,
     * so the guard in {@link #await} holds for it too, and no copy of an earlier pick lands in the slot under it.
     */
    public void settle() {
        if (!queued || closed) {
            return;
        }
        queued = false;
        ctx.bindThread();
        Cuda.check(cudart.cudaEventSynchronize(landed), "cudaEventSynchronize(greedy token)");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ctx.bindThread();
        boolean pending = queued;
        queued = false;
        try {
            if (pending) {
                Cuda.check(cudart.cudaEventSynchronize(landed), "cudaEventSynchronize(greedy token)");
            }
        } finally {
            cudart.cudaEventDestroy(landed);
            candValues.close();
            candIndices.close();
            ctx.pinned.release(pinned, 4L);
        }
    }
}
