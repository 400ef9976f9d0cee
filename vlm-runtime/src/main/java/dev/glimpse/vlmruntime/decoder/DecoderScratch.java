package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.config.TextConfig;

/**
 * The per-sequence scratch buffers of a {@link DecoderSession}, allocated once for the largest
 * block of rows it will process (the prefill chunk size) and viewed at smaller sizes. The one-row
 * views a decode step uses are made once, so the decode loop allocates no buffers.
 */
final class DecoderScratch implements AutoCloseable {

    private final int rows;
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
    private final ScratchRows single;

    /** Bytes of scratch per row of {@code config}: every buffer below is F32 [rows, width]. */
    static long bytesPerRow(TextConfig config) {
        long qWidth = (long) config.numAttentionHeads() * config.headDim();
        long kvWidth = (long) config.numKeyValueHeads() * config.headDim();
        return Float.BYTES * (3L * config.hiddenSize() + 2 * qWidth + 2 * kvWidth + 3L * config.intermediateSize());
    }

    DecoderScratch(Backend backend, TextConfig config, int rows) {
        int hidden = config.hiddenSize();
        int qWidth = config.numAttentionHeads() * config.headDim();
        int kvWidth = config.numKeyValueHeads() * config.headDim();
        int inter = config.intermediateSize();
        this.rows = rows;
        this.normed = backend.allocate(DType.F32, rows, hidden);
        this.q = backend.allocate(DType.F32, rows, qWidth);
        this.k = backend.allocate(DType.F32, rows, kvWidth);
        this.v = backend.allocate(DType.F32, rows, kvWidth);
        this.attention = backend.allocate(DType.F32, rows, qWidth);
        this.projected = backend.allocate(DType.F32, rows, hidden);
        this.residual = backend.allocate(DType.F32, rows, hidden);
        this.gate = backend.allocate(DType.F32, rows, inter);
        this.up = backend.allocate(DType.F32, rows, inter);
        this.activated = backend.allocate(DType.F32, rows, inter);
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
        return new ScratchRows(n, normed.slice(0, 0, n), q.slice(0, 0, n), k.slice(0, 0, n), v.slice(0, 0, n),
                attention.slice(0, 0, n), projected.slice(0, 0, n), residual.slice(0, 0, n), gate.slice(0, 0, n),
                up.slice(0, 0, n), activated.slice(0, 0, n));
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {normed, q, k, v, attention, projected, residual, gate, up, activated}) {
            t.close();
        }
    }
}
