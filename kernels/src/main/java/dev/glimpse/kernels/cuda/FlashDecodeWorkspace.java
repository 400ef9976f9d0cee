package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.global.cudart;

import java.util.ArrayList;
import java.util.List;

/**
 * The device buffers flash-decoding writes its per-split partial results to, and the arrival
 * counters of its fused kernel (one I32 per split-block column, zero between launches: the kernel's
 * last block resets its own): one of each per backend, shared by every layer's decode attention
 * (they run in stream order), grown when a larger shape needs more. A captured CUDA graph keeps
 * the addresses it was recorded with, so an outgrown buffer stays allocated until the backend
 * closes, and growing during a capture fails (the memory would belong to the graph): a decode step
 * of the shape must run once eagerly before it is captured, as {@code DecoderSession} does.
 */
final class FlashDecodeWorkspace implements AutoCloseable {

    private final CudaContext ctx;
    private final List<Tensor> outgrown = new ArrayList<>();
    private Tensor current;
    private Tensor counters;

    FlashDecodeWorkspace(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** Device address of at least {@code floats} F32 values, the same address while the need does not grow. */
    long address(long floats) {
        if (current == null || current.numel() < floats) {
            grow(floats);
        }
        return CudaContext.address(current);
    }

    /**
     * Device address of at least {@code count} I32 counters that are zero between launches of the
     * fused kernel; the same address while the need does not grow.
     */
    long counters(int count) {
        if (counters == null || counters.numel() < count) {
            requireNotCapturing(count * 4L);
            if (counters != null) {
                outgrown.add(counters);
            }
            counters = ctx.memory.tensor(DType.I32, new int[] {count}, true);
        }
        return CudaContext.address(counters);
    }

    private void grow(long floats) {
        if (floats > Integer.MAX_VALUE) {
            throw new TensorException("decodeAttention: a workspace of " + floats + " floats is too large; "
                    + "use fewer heads or a smaller KV cache capacity");
        }
        requireNotCapturing(floats * Float.BYTES);
        if (current != null) {
            outgrown.add(current);
        }
        current = ctx.scratch(DType.F32, (int) floats);
    }

    private void requireNotCapturing(long bytes) {
        int[] capturing = new int[1];
        Cuda.check(cudart.cudaStreamIsCapturing(ctx.stream, capturing), "cudaStreamIsCapturing");
        if (capturing[0] != cudart.cudaStreamCaptureStatusNone) {
            throw new CudaException("decodeAttention: its workspace (" + DeviceMemory.size(bytes)
                    + ") cannot be allocated while a CUDA graph is captured; run one decode step of this shape "
                    + "eagerly before capturing it");
        }
    }

    @Override
    public void close() {
        if (current != null) {
            outgrown.add(current);
            current = null;
        }
        if (counters != null) {
            outgrown.add(counters);
            counters = null;
        }
        for (Tensor t : outgrown) {
            t.close();
        }
        outgrown.clear();
    }
}
