package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

/**
 * Gathers a layer's {@link AttentionRequest} over the prefill chunks into whole-prefill tensors:
 * each chunk captures into temporaries sized for its keys; rows are placed at their slot and column
 * sums accumulated (in double) over chunks. Keys a chunk cannot see yet read zero, as they would in
 * one unchunked pass. Per-head output magnitudes are summed on the host from each chunk's attention
 * output (read back once per chunk, only at layers that ask for them).
 */
final class LayerCapture implements AutoCloseable {

    private final Backend backend;
    private final int[] rows;
    private final int heads;
    private final int keys;
    private final float[] rowProbs;
    private final double[] columnSums;
    private final double[] headOutputL1;
    private Tensor headL1;
    private Tensor chunkRows;
    private Tensor chunkColumns;
    private int[] chunkSlots;
    private int chunkKeys;

    LayerCapture(Backend backend, AttentionRequest request, int active, int heads, int keys) {
        this.backend = backend;
        this.rows = request.queryRows();
        for (int r : rows) {
            if (r < 0 || r >= active) {
                throw new IllegalArgumentException("attention request row " + r + " is outside the " + active
                        + " active tokens");
            }
        }
        this.heads = heads;
        this.keys = keys;
        this.rowProbs = rows.length == 0 ? null : new float[heads * rows.length * keys];
        this.columnSums = request.sumColumns() ? new double[heads * keys] : null;
        this.headOutputL1 = request.headOutputL1() ? new double[heads] : null;
    }

    /** Whether {@link #addHeadOutput} wants the chunks' attention outputs. */
    boolean wantsHeadOutput() {
        return headOutputL1 != null;
    }

    /** Adds {@code sum_t sum_d |out[t, h, d]|} of a chunk's attention output [rows, heads, D] to head h's total. */
    void addHeadOutput(Tensor out) {
        float[] values = hostValues(out);
        int d = out.dim(2);
        for (int h = 0; h < heads; h++) {
            double sum = 0;
            for (int t = 0; t < out.dim(0); t++) {
                int base = (t * heads + h) * d;
                for (int c = 0; c < d; c++) {
                    sum += Math.abs(values[base + c]);
                }
            }
            headOutputL1[h] += sum;
        }
    }

    /** The kernel capture for active rows [from, to) that see {@code visibleKeys} keys, or null. */
    AttentionCapture forChunk(int from, int to, int visibleKeys) {
        closeChunk();
        chunkKeys = visibleKeys;
        int count = 0;
        for (int r : rows) {
            if (r >= from && r < to) {
                count++;
            }
        }
        int[] local = new int[count];
        chunkSlots = new int[count];
        for (int i = 0, j = 0; i < rows.length; i++) {
            if (rows[i] >= from && rows[i] < to) {
                local[j] = rows[i] - from;
                chunkSlots[j++] = i;
            }
        }
        chunkRows = count == 0 ? null : backend.allocate(DType.F32, heads, count, visibleKeys);
        chunkColumns = columnSums == null ? null : backend.allocate(DType.F32, heads, visibleKeys);
        if (chunkRows == null && chunkColumns == null) {
            return null;
        }
        return new AttentionCapture(chunkRows == null ? null : local, chunkRows, chunkColumns);
    }

    /** Folds the last chunk's capture into the totals. */
    void collect() {
        if (chunkRows != null) {
            float[] values = hostValues(chunkRows);
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < chunkSlots.length; j++) {
                    System.arraycopy(values, (h * chunkSlots.length + j) * chunkKeys, rowProbs,
                            (h * rows.length + chunkSlots[j]) * keys, chunkKeys);
                }
            }
        }
        if (chunkColumns != null) {
            float[] values = hostValues(chunkColumns);
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < chunkKeys; j++) {
                    columnSums[h * keys + j] += values[h * chunkKeys + j];
                }
            }
        }
        closeChunk();
    }

    /** The values of a capture tensor, read back to the host (pruning decides there). */
    private float[] hostValues(Tensor captured) {
        Tensor host = backend.download(captured);
        try {
            return host.toFloatArray();
        } finally {
            if (host != captured) {
                host.close();
            }
        }
    }

    /** The view handed to the hook; its tensors are closed with this capture. */
    LayerAttention result(int layer, int[] activeTokens, int[] keyTokens) {
        closeChunk();
        chunkRows = rowProbs == null ? null : Tensor.of(rowProbs, heads, rows.length, keys);
        if (columnSums != null) {
            float[] sums = new float[columnSums.length];
            for (int i = 0; i < sums.length; i++) {
                sums[i] = (float) columnSums[i];
            }
            chunkColumns = Tensor.of(sums, heads, keys);
        }
        if (headOutputL1 != null) {
            float[] l1 = new float[heads];
            for (int h = 0; h < heads; h++) {
                l1[h] = (float) headOutputL1[h];
            }
            headL1 = Tensor.of(l1, heads);
        }
        return new LayerAttention(layer, activeTokens, keyTokens, rows, chunkRows, chunkColumns, headL1);
    }

    private void closeChunk() {
        if (chunkRows != null) {
            chunkRows.close();
            chunkRows = null;
        }
        if (chunkColumns != null) {
            chunkColumns.close();
            chunkColumns = null;
        }
    }

    @Override
    public void close() {
        closeChunk();
        if (headL1 != null) {
            headL1.close();
            headL1 = null;
        }
    }
}
