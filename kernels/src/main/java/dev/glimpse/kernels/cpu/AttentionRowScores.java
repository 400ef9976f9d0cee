package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.util.Arrays;
import java.util.List;

/**
 * {@link dev.glimpse.kernels.Backend#attentionRowScores} on the host, the reference of the CUDA
 * kernel ({@code attention_row_scores} in scores.cu), which repeats these double operations in
 * this order: per token, each layer's head sum from 0.0, divided by the head count, added to the
 * token's running sum from 0.0; one rounding to F32 at the end.
 */
final class AttentionRowScores {

    private AttentionRowScores() {
    }

    static void compute(List<Tensor> rows, int first, Tensor out) {
        for (Tensor t : rows) {
            Rows.requireHost(t, "attentionRowScores", "rows");
        }
        Rows.requireHost(out, "attentionRowScores", "out");
        int n = OpChecks.attentionRowScores(rows, first, out);
        if (!out.isContiguous()) {
            throw new TensorException("attentionRowScores: out must be contiguous, got " + out);
        }
        int heads = rows.get(0).dim(0);
        int width = rows.get(0).dim(1);
        double[] sum = new double[n];
        double[] layer = new double[n];
        float[] row = new float[width];
        for (Tensor block : rows) {
            Arrays.fill(layer, 0.0);
            for (int h = 0; h < heads; h++) {
                Rows.readRow(block, h, row);
                for (int i = 0; i < n; i++) {
                    layer[i] += row[first + i];
                }
            }
            for (int i = 0; i < n; i++) {
                sum[i] += layer[i] / heads;
            }
        }
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            scores[i] = (float) sum[i];
        }
        Rows.writeRow(out, 0, scores, n);
    }
}
