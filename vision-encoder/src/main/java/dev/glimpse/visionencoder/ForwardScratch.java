package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The working memory of one forward pass, allocated once per {@link VisionTransformer#encode}
 * call for its largest batch and sequence and reused by every layer (and every image, when a
 * pruning hook encodes them one at a time). Buffers are flat; {@link #view} carves a contiguous
 * tensor of any smaller shape from the front, so sequences shortened by pruning stay contiguous.
 */
final class ForwardScratch implements AutoCloseable {

    /** The residual stream; blocks read it and leave their output in it. */
    final Tensor residual;
    /** The residual stream after attention, inside a block. */
    final Tensor residualMid;
    /** Layer-norm output, then the attention output (q, k, v are computed from it first). */
    final Tensor normed;
    /** q, k and v one after the other ([3, rows * hidden] flat), the output of a stacked q/k/v product. */
    final Tensor qkv;
    final Tensor query;
    final Tensor key;
    final Tensor value;
    /** The patch embeddings, before the position embeddings are added. */
    final Tensor projected;
    /**
     * MLP activations [.., intermediate] in F32, the fc2 input where it is F32: every row with F32
     * GEMM inputs; with 16-bit ones only the few rows for which the backend keeps F32 activations (a
     * sequence pruned to a decode-sized GEMV), since fc1 then writes {@link #mlpHalf} directly.
     */
    final Tensor mlp;
    /** Flattened patches [.., channels * p * p]. */
    final Tensor patches;
    /**
     * Layer-norm outputs in the weights' 16-bit dtype (the q/k/v and fc1 inputs), or null when the
     * backend takes F32 ones ({@link dev.glimpse.kernels.GemmInputs}).
     */
    final Tensor normedHalf;
    /** Activations in the weights' 16-bit dtype (the fc2 input), or null; also the token-major q/k/v input. */
    final Tensor mlpHalf;

    private final List<Tensor> all = new ArrayList<>();

    /**
     * Buffers for {@code batch} sequences of {@code tokens}; {@code gemmInput} F16/BF16 adds the
     * 16-bit GEMM-input buffers, F32 leaves them null.
     */
    ForwardScratch(Backend backend, int batch, int tokens, int hidden, int intermediate, int patchCount, int patchWidth,
                   DType gemmInput) {
        long rows = (long) batch * tokens;
        residual = flat(backend, rows * hidden);
        residualMid = flat(backend, rows * hidden);
        normed = flat(backend, rows * hidden);
        qkv = flat(backend, 3 * rows * hidden);
        query = qkv.slice(0, 0, Math.toIntExact(rows * hidden));
        key = qkv.slice(0, Math.toIntExact(rows * hidden), Math.toIntExact(2 * rows * hidden));
        value = qkv.slice(0, Math.toIntExact(2 * rows * hidden), Math.toIntExact(3 * rows * hidden));
        projected = flat(backend, rows * hidden);
        boolean half = gemmInput != DType.F32;
        mlp = flat(backend, f32ActivationRows(backend, rows, half) * intermediate);
        patches = flat(backend, (long) batch * patchCount * patchWidth);
        normedHalf = half ? flat(backend, gemmInput, rows * hidden) : null;
        mlpHalf = half ? flat(backend, gemmInput, rows * Math.max(hidden, intermediate)) : null;
    }

    /**
     * Rows of a pass that may compute with F32 MLP activations: all of them without 16-bit GEMM
     * inputs, else the row counts from 1 up for which the backend does not ask for 16-bit inputs
     * ({@link Backend#halfActivationsForGemm}: none on the CPU's F32 path, at most 8 on CUDA).
     */
    private static long f32ActivationRows(Backend backend, long rows, boolean half) {
        if (!half) {
            return rows;
        }
        long f32Rows = 0;
        while (f32Rows < rows && !backend.halfActivationsForGemm(Math.toIntExact(f32Rows + 1))) {
            f32Rows++;
        }
        return f32Rows;
    }

    /**
     * The fronts of {@link #query}, {@link #key} and {@link #value} as one [3, rows, width] tensor
     * (the output of {@link Backend#linearStack}): out[0], out[1], out[2] are the views
     * {@link #view} carves from each.
     */
    Tensor qkvStack(int rows, int width) {
        return Tensor.strided(qkv.segment(), qkv.device(), qkv.dtype(), new int[] {3, rows, width},
                new long[] {query.numel(), width, 1}, qkv.offset());
    }

    /** A contiguous view of the front of {@code buffer} with {@code shape}. */
    static Tensor view(Tensor buffer, int... shape) {
        return buffer.slice(0, 0, Math.toIntExact(Tensor.numel(shape))).reshape(shape);
    }

    private Tensor flat(Backend backend, long numel) {
        return flat(backend, DType.F32, numel);
    }

    private Tensor flat(Backend backend, DType dtype, long numel) {
        Tensor t = backend.allocate(dtype, Math.toIntExact(numel));
        all.add(t);
        return t;
    }

    /** Bytes of every buffer. */
    long bytes() {
        return all.stream().mapToLong(t -> t.numel() * t.dtype().byteSize()).sum();
    }

    @Override
    public void close() {
        all.forEach(Tensor::close);
    }
}
