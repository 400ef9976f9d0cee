package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Normalisations over the last dim, in F32 as torch computes them. Each row is read into a scratch
 * array (any input strides), reduced with vector lanes and written to the contiguous output, so
 * {@code out} may be {@code x} itself.
 */
final class Normalization {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Normalization() {
    }

    /**
     * {@code torch.softmax(x, dim=-1)}: exp(x - max) / sum. Like torch, a row whose max is -inf
     * (all -inf) or that holds NaN or +inf comes out NaN; an attention mask never produces one.
     */
    static void softmax(Tensor x, Tensor out) {
        Rows.requireF32(x, "softmax", "x");
        Rows.requireOut(out, x.shape(), "softmax");
        int n = Rows.width(x);
        forRows(x, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                softmaxInPlace(row, n);
                Rows.writeRow(out, r, row, n);
            }
        });
    }

    /**
     * {@code torch.nn.LayerNorm}: (x - mean) / sqrt(var + eps) * gamma + beta with the biased
     * variance, mean and variance in two passes. gamma and beta are [D] in F32, F16 or BF16; beta
     * may be null (no bias).
     */
    static void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        Rows.requireF32(x, "layerNorm", "x");
        Rows.requireFloatOut(out, x.shape(), "layerNorm");
        int n = Rows.width(x);
        float[] g = Rows.vector(gamma, n, "layerNorm", "gamma");
        float[] b = beta == null ? new float[n] : Rows.vector(beta, n, "layerNorm", "beta");
        forRows(x, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                float mean = sum(row, n) / n;
                float var = centredSquares(row, n, mean) / n;
                float rstd = (float) (1.0 / Math.sqrt(var + eps));
                int i = 0;
                for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, row, i).sub(mean).mul(rstd)
                            .mul(FloatVector.fromArray(SPECIES, g, i)).add(FloatVector.fromArray(SPECIES, b, i))
                            .intoArray(row, i);
                }
                for (; i < n; i++) {
                    row[i] = (row[i] - mean) * rstd * g[i] + b[i];
                }
                Rows.writeRow(out, r, row, n);
            }
        });
    }

    /**
     * HF {@code LlamaRMSNorm}: variance = mean(x^2) in F32, x * rsqrt(variance + eps), then times
     * the weight (F32, F16 or BF16 [D], promoted to F32 as torch does).
     */
    static void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        Rows.requireF32(x, "rmsNorm", "x");
        Rows.requireFloatOut(out, x.shape(), "rmsNorm");
        int n = Rows.width(x);
        float[] g = Rows.vector(gamma, n, "rmsNorm", "gamma");
        forRows(x, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                float variance = centredSquares(row, n, 0f) / n;
                float rstd = (float) (1.0 / Math.sqrt(variance + eps));
                int i = 0;
                for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, row, i).mul(rstd).mul(FloatVector.fromArray(SPECIES, g, i))
                            .intoArray(row, i);
                }
                for (; i < n; i++) {
                    row[i] = row[i] * rstd * g[i];
                }
                Rows.writeRow(out, r, row, n);
            }
        });
    }

    /**
     * {@code torch.linalg.vector_norm(x, dim=-1)}: out has x's shape without the last dim (or with
     * it as 1).
     */
    static void l2Norm(Tensor x, Tensor out) {
        Rows.requireF32(x, "l2Norm", "x");
        int[] shape = x.shape();
        int[] reduced = Arrays.copyOf(shape, Math.max(0, shape.length - 1));
        int[] kept = shape.clone();
        if (kept.length > 0) {
            kept[kept.length - 1] = 1;
        }
        Rows.requireF32(out, "l2Norm", "out");
        if (!Rows.contiguous(out) || !(Arrays.equals(out.shape(), reduced) || Arrays.equals(out.shape(), kept))) {
            throw new TensorException("l2Norm: out must be contiguous with shape " + Arrays.toString(reduced)
                    + " or " + Arrays.toString(kept) + ", got " + out);
        }
        int n = Rows.width(x);
        forRows(x, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                float norm = (float) Math.sqrt(centredSquares(row, n, 0f));
                out.segment().set(F32, out.byteOffset() + r * 4L, norm);
            }
        });
    }

    // ---------------------------------------------------------------- row kernels

    /** Stable softmax of row[0, n) in place. */
    static void softmaxInPlace(float[] row, int n) {
        if (n == 0) {
            return;
        }
        float max = max(row, n);
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector e = Transcendentals.exp(FloatVector.fromArray(SPECIES, row, i).sub(max));
            e.intoArray(row, i);
            acc = acc.add(e);
        }
        float sum = Lanes.sum(acc);
        for (; i < n; i++) {
            row[i] = Transcendentals.exp(row[i] - max);
            sum += row[i];
        }
        i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, row, i).div(sum).intoArray(row, i);
        }
        for (; i < n; i++) {
            row[i] /= sum;
        }
    }

    static float max(float[] row, int n) {
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (n >= SPECIES.length()) {
            FloatVector m = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
            for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                m = m.max(FloatVector.fromArray(SPECIES, row, i));
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Float.isNaN(row[i]) ? row[i] : Math.max(max, row[i]);
        }
        return max;
    }

    private static float sum(float[] row, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            acc = acc.add(FloatVector.fromArray(SPECIES, row, i));
        }
        float s = Lanes.sum(acc);
        for (; i < n; i++) {
            s += row[i];
        }
        return s;
    }

    /** sum over i of (row[i] - centre)^2. */
    private static float centredSquares(float[] row, int n, float centre) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector d = FloatVector.fromArray(SPECIES, row, i).sub(centre);
            acc = d.fma(d, acc);
        }
        float s = Lanes.sum(acc);
        for (; i < n; i++) {
            float d = row[i] - centre;
            s += d * d;
        }
        return s;
    }


    private static void forRows(Tensor t, CpuParallel.RangeBody body) {
        int width = Math.max(1, Rows.width(t));
        CpuParallel.forRange(Rows.count(t), Math.max(1, Rows.GRAIN_ELEMENTS / width), body);
    }
}
