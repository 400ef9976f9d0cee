package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.GemmInputs;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The per-sequence scratch buffers of a {@link DecoderSession}, allocated once for the largest
 * block of rows it will process (the prefill chunk size) and viewed at smaller sizes. The one-row
 * views a decode step uses are made once, so the decode loop allocates no buffers.
 *
 * <p>With a 16-bit {@code gemmInput} ({@link GemmInputs}: F16/BF16 weights on a backend whose
 * prefill GEMM rounds x to them anyway) the RMSNorm output and act(gate) * up get buffers in that
 * dtype, which {@link #rows} hands out for blocks the backend rounds
 * ({@link Backend#halfActivationsForGemm}, CUDA above 8 rows): the q/k/v, gate/up and down
 * products read the very bits they converted to before, without the conversion pass. Smaller
 * blocks (the decode step, short prefill tails) keep F32 buffers, sized for just those rows, and
 * the exact F32 GEMV.
 *
 * <p>q, k and v live in one [3, rows, width] buffer when their widths agree (else k and v in one
 * [2, rows, kvWidth]), gate and up in one [2, rows, intermediate], so a stacked product
 * ({@link dev.glimpse.kernels.Backend#linearStack}) writes each of them where its consumers read
 * it; at n rows each is still a packed [n, width] view. The 16-bit gate/up of {@code -Dglimpse.cuda.mlp16}
 * ({@link ScratchRows#gateUpHalf}) view the first half of the F32 gate/up buffer's bytes: no memory of their own.
 */
final class DecoderScratch implements AutoCloseable {

    private final int rows;
    /** Rows the F32 normed and activated buffers hold: all, or only those the backend keeps in F32. */
    private final int f32Rows;
    private final Tensor normed;
    private final Tensor q;
    private final Tensor k;
    private final Tensor v;
    private final Tensor attention;
    private final Tensor projected;
    private final Tensor residual;
    private final Tensor gate;
    private final Tensor up;
    private final Tensor activated;
    /** q, k, v as one [3, rows, width] buffer when their widths agree, else null (q alone, k and v in {@link #kv}). */
    private final Tensor qkv;
    /** k, v as [2, rows, kvWidth]: a view of {@link #qkv} or a buffer of its own. */
    private final Tensor kv;
    /** gate, up as [2, rows, intermediate]. */
    private final Tensor gateUp;
    private final ScratchRows single;
    private final Backend backend;
    /** RMSNorm output and act(gate) * up in the 16-bit GEMM-input dtype; null when that is F32. */
    private final Tensor normedHalf;
    private final Tensor activatedHalf;
    /** gate, up as [2, rows, intermediate] in the 16-bit GEMM-input dtype, over {@link #gateUp}'s memory; null when that is F32. */
    private final Tensor gateUpHalf;

    /**
     * Bytes of scratch per row of {@code config} with every buffer F32 [rows, width]; 16-bit GEMM
     * inputs need less (normed and activated at 2 bytes an element), so this bounds both, and the
     * automatic prefill chunk, sized from it, is the same either way.
     */
    static long bytesPerRow(TextConfig config) {
        long qWidth = (long) config.numAttentionHeads() * config.headDim();
        long kvWidth = (long) config.numKeyValueHeads() * config.headDim();
        return Float.BYTES * (3L * config.hiddenSize() + 2 * qWidth + 2 * kvWidth + 3L * config.intermediateSize());
    }

    /**
     * The dtype of the RMSNorm and act(gate) * up outputs of large blocks ({@link GemmInputs}): the
     * F16/BF16 shared by every layer's q, k, v, gate, up and down weights where {@code backend}
     * rounds large products' x to it, else F32.
     */
    static DType gemmInputType(Backend backend, DecoderWeights weights) {
        List<Tensor> inputs = new ArrayList<>();
        for (LayerWeights w : weights.layers()) {
            inputs.addAll(List.of(w.q(), w.k(), w.v(), w.gate(), w.up(), w.down()));
        }
        return GemmInputs.dtype(backend, Integer.MAX_VALUE, inputs.toArray(Tensor[]::new));
    }

    DecoderScratch(Backend backend, TextConfig config, int rows, DType gemmInput) {
        int hidden = config.hiddenSize();
        int qWidth = config.numAttentionHeads() * config.headDim();
        int kvWidth = config.numKeyValueHeads() * config.headDim();
        int inter = config.intermediateSize();
        this.rows = rows;
        this.backend = backend;
        boolean half = gemmInput != DType.F32;
        this.f32Rows = half ? f32RowsOf(backend, rows) : rows;
        this.normed = backend.allocate(DType.F32, Math.max(1, f32Rows), hidden);
        this.qkv = qWidth == kvWidth ? backend.allocate(DType.F32, 3, rows, qWidth) : null;
        this.kv = qkv != null ? qkv.slice(0, 1, 3) : backend.allocate(DType.F32, 2, rows, kvWidth);
        this.q = qkv != null ? qkv.select(0, 0) : backend.allocate(DType.F32, rows, qWidth);
        this.k = kv.select(0, 0);
        this.v = kv.select(0, 1);
        this.attention = backend.allocate(DType.F32, rows, qWidth);
        this.projected = backend.allocate(DType.F32, rows, hidden);
        this.residual = backend.allocate(DType.F32, rows, hidden);
        this.gateUp = backend.allocate(DType.F32, 2, rows, inter);
        this.gate = gateUp.select(0, 0);
        this.up = gateUp.select(0, 1);
        this.activated = backend.allocate(DType.F32, Math.max(1, f32Rows), inter);
        this.normedHalf = half ? backend.allocate(gemmInput, rows, hidden) : null;
        this.activatedHalf = half ? backend.allocate(gemmInput, rows, inter) : null;
        this.gateUpHalf = half ? Tensor.wrap(gateUp.segment(), gateUp.device(), gemmInput, 2, rows, inter) : null;
        this.single = rows(1);
    }

    /** Views for {@code n <= capacity} rows. */
    ScratchRows rows(int n) {
        if (n == 1 && single != null) {
            return single;
        }
        if (n < 1 || n > rows) {
            throw new IllegalArgumentException("scratch holds 1.." + rows + " rows, asked for " + n);
        }
        boolean half = normedHalf != null && backend.halfActivationsForGemm(n);
        if (!half && n > f32Rows) {
            throw new IllegalStateException("the backend keeps F32 GEMM inputs for " + n + " rows but answered 16-bit for "
                    + (f32Rows + 1) + ": F32 normed/activated scratch holds " + f32Rows + " rows");
        }
        return new ScratchRows(n, (half ? normedHalf : normed).slice(0, 0, n), q.slice(0, 0, n), k.slice(0, 0, n),
                v.slice(0, 0, n), attention.slice(0, 0, n), projected.slice(0, 0, n), residual.slice(0, 0, n),
                gate.slice(0, 0, n), up.slice(0, 0, n), (half ? activatedHalf : activated).slice(0, 0, n),
                qkv == null ? null : qkv.slice(1, 0, n), kv.slice(1, 0, n), gateUp.slice(1, 0, n),
                half ? attentionHalf(n) : null, half ? gateUpHalf.slice(1, 0, n) : null);
    }

    /** [n, heads * headDim] at the start of the 16-bit activated buffer, or null where that is narrower. */
    private Tensor attentionHalf(int n) {
        int width = attention.dim(1);
        if (width > activatedHalf.dim(1)) {
            return null;
        }
        return activatedHalf.reshape(-1).slice(0, 0, n * width).reshape(n, width);
    }

    /** Rows up to which {@code backend} keeps F32 GEMM inputs (at least the decode step's 1, at most {@code rows}). */
    private static int f32RowsOf(Backend backend, int rows) {
        int n = 1;
        while (n < rows && !backend.halfActivationsForGemm(n + 1)) {
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {normed, qkv == null ? q : qkv, qkv == null ? kv : null, attention, projected, residual,
                gateUp, activated}) {
            if (t != null) {
                t.close();
            }
        }
        if (normedHalf != null) {
            normedHalf.close();
            activatedHalf.close();
        }
    }
}
