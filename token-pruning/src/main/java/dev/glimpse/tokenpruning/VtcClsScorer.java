package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;

/**
 * VTC-CLS token scores from [CLS] attention (PAPERS.md, "VTC-CLS"):
 * <pre>
 *   s^l_i = (1/H) sum_h A^{l,h}[CLS, i]          (i over patch tokens, head mean per layer)
 *   s*_i  = sum_{l = start}^{L-2} s^l_i           (ensemble: a sum, as the reference code)
 * </pre>
 * L - 2 is the penultimate layer (0-based), the one LLaVA-1.5 reads features from
 * ({@code hidden_states[-2]} is the output of layer L - 2); the reference sums
 * {@code attentions[start:-1]}. Sums accumulate in double per token.
 *
 * <p>SigLIP towers have no [CLS]: their score is the head mean of the attention-pooling head's
 * probe query over the last layer's tokens, {@code s_i = (1/H) sum_h P^h[i]}: the one query
 * SigLIP trains to summarise the image, the closest analogue of the [CLS] row. It is a single
 * "layer" (the head after the last encoder layer), so there is no ensemble.
 *
 * <p>Scoring runs on the backend where the taps are ({@link Backend#attentionRowScores}, in
 * double as written above, the same bits on every backend), and selection on its top-k, so a GPU
 * request reads back only the kept indices and the scores for the trace.
 * {@link #score(float[][][])} is the formula on host arrays, for tests and tools.
 */
public final class VtcClsScorer {

    private VtcClsScorer() {
    }

    /**
     * {@code s*} over the patch tokens from per-layer [CLS] rows {@code rows[l][h][1 + i]}
     * (column 0 is [CLS] itself and is skipped); every layer given is summed.
     */
    public static float[] score(float[][][] rows) {
        if (rows.length == 0) {
            throw new IllegalArgumentException("VTC-CLS needs the [CLS] rows of at least one layer");
        }
        int width = rows[0][0].length;
        double[] sum = new double[width - 1];
        for (float[][] layer : rows) {
            addHeadMean(layer, width, sum);
        }
        return toFloat(sum);
    }

    /**
     * {@code s*} from the [CLS] rows of layers {@code start .. end} (inclusive) of {@code attention},
     * as F32 [1, patches] on {@code backend} (owned by the caller): one
     * {@link Backend#attentionRowScores} over the rows where the tower left them, so on a GPU the
     * scores never cross to the host before selection.
     */
    public static Tensor score(Backend backend, VisionAttention attention, int start, int end, int patches) {
        SortedMap<Integer, Tensor> rows = attention.clsRows();
        if (start > end) {
            throw new IllegalArgumentException("VTC-CLS start layer " + start + " is past the penultimate layer " + end
                    + " of a " + attention.encoderLayers() + "-layer tower");
        }
        List<Tensor> layers = new ArrayList<>(end - start + 1);
        for (int l = start; l <= end; l++) {
            Tensor t = rows.get(l);
            if (t == null) {
                throw new IllegalArgumentException("VTC-CLS needs the [CLS] attention of encoder layer " + l
                        + " (layers " + start + ".." + end + "); the taps hold layers " + rows.keySet());
            }
            if (t.rank() != 2 || t.dim(1) != patches + 1 || (!layers.isEmpty() && t.dim(0) != layers.get(0).dim(0))) {
                throw new IllegalArgumentException("[CLS] attention of encoder layer " + l + " (all patches present: "
                        + "vtc-cls runs on the unpruned tower) must be [heads, " + (patches + 1) + "] like the other "
                        + "layers', got " + t);
            }
            layers.add(t);
        }
        return rowScores(backend, layers, 1, patches);
    }

    /** SigLIP: head mean of the probe attention [heads, patches], as F32 [1, patches] on {@code backend}. */
    public static Tensor scoreProbe(Backend backend, Tensor probeAttention, int patches) {
        if (probeAttention == null) {
            throw new IllegalArgumentException("probe attention was not captured");
        }
        if (probeAttention.rank() != 2 || probeAttention.dim(1) != patches) {
            throw new IllegalArgumentException("probe attention must be [heads, " + patches + "], got " + probeAttention);
        }
        return rowScores(backend, List.of(probeAttention), 0, patches);
    }

    private static Tensor rowScores(Backend backend, List<Tensor> layers, int first, int patches) {
        Tensor out = backend.allocate(DType.F32, 1, patches);
        try {
            backend.attentionRowScores(layers, first, out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /**
     * {@link #score(Backend, VisionAttention, int, int, int)} the way it ran before the backend
     * computed it: each layer's rows read back to the host and summed there, the same double
     * operations in the same order, so the same bits (the {@code host} A/B path,
     * {@link VtcClsSelector#SCORES_PROPERTY}).
     */
    static float[] scoreOnHost(Backend backend, VisionAttention attention, int start, int end, int patches) {
        SortedMap<Integer, Tensor> rows = attention.clsRows();
        if (start > end) {
            throw new IllegalArgumentException("VTC-CLS start layer " + start + " is past the penultimate layer " + end
                    + " of a " + attention.encoderLayers() + "-layer tower");
        }
        double[] sum = new double[patches];
        double[] layerSum = new double[patches];
        for (int l = start; l <= end; l++) {
            Tensor t = rows.get(l);
            if (t == null) {
                throw new IllegalArgumentException("VTC-CLS needs the [CLS] attention of encoder layer " + l
                        + " (layers " + start + ".." + end + "); the taps hold layers " + rows.keySet());
            }
            String what = "[CLS] attention of encoder layer " + l + " (all patches present: vtc-cls runs on the "
                    + "unpruned tower)";
            if (t.rank() != 2 || t.dim(1) != patches + 1) {
                throw new IllegalArgumentException(what + " must be [heads, " + (patches + 1) + "], got " + t);
            }
            int heads = t.dim(0);
            float[] flat = HostTensors.values(backend, t);
            Arrays.fill(layerSum, 0);
            for (int h = 0; h < heads; h++) {
                int base = h * (patches + 1) + 1;
                for (int i = 0; i < patches; i++) {
                    layerSum[i] += flat[base + i];
                }
            }
            for (int i = 0; i < patches; i++) {
                sum[i] += layerSum[i] / heads;
            }
        }
        return toFloat(sum);
    }

    /** {@link #scoreProbe} read back and computed on the host (the {@code host} A/B path). */
    static float[] scoreProbeOnHost(Backend backend, Tensor probeAttention, int patches) {
        float[][] heads = HostTensors.rows(backend, probeAttention, "probe attention", patches);
        double[] sum = new double[patches];
        for (float[] head : heads) {
            for (int i = 0; i < patches; i++) {
                sum[i] += head[i];
            }
        }
        for (int i = 0; i < patches; i++) {
            sum[i] /= heads.length;
        }
        return toFloat(sum);
    }

    private static void addHeadMean(float[][] layer, int width, double[] sum) {
        int heads = layer.length;
        for (float[] head : layer) {
            if (head.length != width) {
                throw new IllegalArgumentException("[CLS] rows of different lengths: " + head.length + " and " + width);
            }
            for (int i = 1; i < width; i++) {
                sum[i - 1] += (double) head[i] / heads;
            }
        }
    }

    private static float[] toFloat(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
