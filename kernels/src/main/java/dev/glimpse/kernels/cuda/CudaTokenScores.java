package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * {@link dev.glimpse.kernels.Backend#attentionRowScores} on the GPU ({@code attention_row_scores}
 * in scores.cu): the layers' row blocks are passed by address in one by-value struct, so the
 * scores are one launch over the rows where the vision tower wrote them, with the CPU backend's
 * double arithmetic and therefore its bits.
 */
final class CudaTokenScores {

    /** MAX_SCORE_LAYERS in scores.cu: the layer addresses the kernel's struct holds. */
    static final int MAX_LAYERS = 32;
    private static final int THREADS = 256;

    private final CudaContext ctx;
    private final CudaCopy copier;
    /** The kernel's {@code ScoreLayers} struct, reused (callers hold the backend's lock). */
    private final MemorySegment layers = Arena.ofAuto().allocate(MAX_LAYERS * 8L, 8);

    CudaTokenScores(CudaContext ctx, CudaCopy copier) {
        this.ctx = ctx;
        this.copier = copier;
    }

    void attentionRowScores(List<Tensor> rows, int first, Tensor out) {
        for (Tensor t : rows) {
            Checks.onDevice(t, ctx.device, "attentionRowScores", "rows");
        }
        int n = OpChecks.attentionRowScores(rows, first, out);
        Checks.out(out, new int[] {1, n}, ctx.device, "attentionRowScores");
        if (rows.size() > MAX_LAYERS) {
            throw new TensorException("attentionRowScores: at most " + MAX_LAYERS + " layers of rows, got " + rows.size());
        }
        if (n == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(copier)) {
            long rowStride = -1;
            layers.fill((byte) 0);
            for (int l = 0; l < rows.size(); l++) {
                Tensor block = packedBlock(tmp, rows.get(l));
                layers.setAtIndex(ValueLayout.JAVA_LONG, l, CudaContext.address(block));
                rowStride = block.stride(0);
            }
            ctx.launch.of(ctx.kernels.function("scores", "attention_row_scores"), "attention_row_scores")
                    .struct(layers).i32(rows.size()).i32(rows.get(0).dim(0)).i64(rowStride).i32(first).i32(n)
                    .ptr(CudaContext.address(out))
                    .run((n + THREADS - 1) / THREADS, 1, THREADS, 0);
        }
    }

    /**
     * The block itself when its columns are packed and its rows {@code width} apart, else a packed
     * copy, so every block the kernel reads has the same row stride.
     */
    private static Tensor packedBlock(Temporaries tmp, Tensor block) {
        boolean packed = block.stride(1) == 1 && (block.dim(0) == 1 || block.stride(0) == block.dim(1));
        return packed ? block : tmp.copy(block, block.dtype());
    }
}
