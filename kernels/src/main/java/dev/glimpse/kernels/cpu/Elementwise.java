package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Pointwise ops on F32 activations: add, mul (with suffix broadcasting), scale, activations and the
 * gated MLP product. Each row is read into a scratch array (any strides and input dtypes take one
 * path), computed there with vectors and copied to the contiguous output, so {@code out} may be an
 * input.
 *
 * <p>Vectors load and store only on heap arrays, never on segments: C2 intrinsifies
 * {@code FloatVector.fromMemorySegment} only while the segment class profiled inside that shared
 * method is exact, and one caller passing a heap segment where others pass native ones sends every
 * caller's loads out of line, boxing each vector (see {@link VectorGemm}). The row copies are bulk
 * {@code MemorySegment.copy} calls, cheap beside the loads they replace.
 */
final class Elementwise {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);
    private static final double SQRT_HALF = Math.sqrt(0.5);

    private Elementwise() {
    }

    static void add(Tensor a, Tensor b, Tensor out) {
        binary(a, b, out, false, "add");
    }

    static void mul(Tensor a, Tensor b, Tensor out) {
        binary(a, b, out, true, "mul");
    }

    /** out = a * s; out may be a. */
    static void scale(Tensor a, float s, Tensor out) {
        Rows.requireF32(a, "scale", "a");
        Rows.requireOut(out, a.shape(), "scale");
        int n = Rows.width(a);
        forRows(a, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(a, r, row);
                int i = 0;
                for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, row, i).mul(s).intoArray(row, i);
                }
                for (; i < n; i++) {
                    row[i] *= s;
                }
                Rows.writeRow(out, r, row, n);
            }
        });
    }

    /** out = f(x); out may be x. */
    static void activation(Activation f, Tensor x, Tensor out) {
        requireActivation(f);
        Rows.requireF32(x, "activation", "x");
        Rows.requireFloatOut(out, x.shape(), "activation");
        int n = Rows.width(x);
        forRows(x, (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                apply(f, row, n);
                Rows.writeRow(out, r, row, n);
            }
        });
    }

    /** out = f(gate) * up, the gated MLP of Llama/Qwen2; out may alias gate or up. */
    static void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out) {
        requireActivation(f);
        Rows.requireF32(gate, "gatedActivation", "gate");
        Rows.requireF32(up, "gatedActivation", "up");
        if (!gate.sameShape(up)) {
            throw new TensorException("gatedActivation: gate and up must have the same shape, got " + gate + " and " + up);
        }
        Rows.requireFloatOut(out, gate.shape(), "gatedActivation");
        int n = Rows.width(gate);
        forRows(gate, (from, to) -> {
            float[] g = new float[n];
            float[] u = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(gate, r, g);
                Rows.readRow(up, r, u);
                apply(f, g, n);
                combine(g, u, n, true);
                Rows.writeRow(out, r, g, n);
            }
        });
    }

    // ---------------------------------------------------------------- binary ops

    private static void binary(Tensor a, Tensor b, Tensor out, boolean multiply, String op) {
        Rows.requireF32(a, op, "a");
        Rows.requireFloat(b, op, "b");
        requireSuffix(a, b, op);
        Rows.requireOut(out, a.shape(), op);
        int n = Rows.width(a);
        int bRows = Rows.count(b);
        forRows(a, (from, to) -> {
            float[] as = new float[n];
            float[] bs = new float[n];
            int loaded = -1;
            for (int r = from; r < to; r++) {
                Rows.readRow(a, r, as);
                if (r % bRows != loaded) {
                    loaded = r % bRows;
                    Rows.readRow(b, loaded, bs);
                }
                combine(as, bs, n, multiply);
                Rows.writeRow(out, r, as, n);
            }
        });
    }

    private static void requireSuffix(Tensor a, Tensor b, String op) {
        int[] as = a.shape();
        int[] bs = b.shape();
        boolean suffix = bs.length >= 1 && bs.length <= as.length
                && Arrays.equals(bs, Arrays.copyOfRange(as, as.length - bs.length, as.length));
        if (!suffix) {
            throw new TensorException(op + ": b must have a's shape " + Arrays.toString(as)
                    + " or a suffix of it (rank >= 1; use scale for a scalar), got " + b);
        }
    }

    /** a[0, n) = a * b or a + b. */
    private static void combine(float[] a, float[] b, int n, boolean multiply) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector va = FloatVector.fromArray(SPECIES, a, i);
            FloatVector vb = FloatVector.fromArray(SPECIES, b, i);
            (multiply ? va.mul(vb) : va.add(vb)).intoArray(a, i);
        }
        for (; i < n; i++) {
            a[i] = multiply ? a[i] * b[i] : a[i] + b[i];
        }
    }

    // ---------------------------------------------------------------- activations

    private static void requireActivation(Activation f) {
        if (f == null) {
            throw new TensorException("activation: the activation function must not be null");
        }
    }

    /** Applies f to row[0, n) in place. */
    private static void apply(Activation f, float[] row, int n) {
        int i = 0;
        if (f != Activation.GELU_ERF) {
            for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                vector(f, FloatVector.fromArray(SPECIES, row, i)).intoArray(row, i);
            }
        }
        for (; i < n; i++) {
            row[i] = scalar(f, row[i]);
        }
    }

    private static FloatVector vector(Activation f, FloatVector x) {
        return switch (f) {
            case RELU -> x.max(0f);
            case SILU -> x.div(Transcendentals.exp(x.neg()).add(1f));
            case QUICK_GELU -> x.div(Transcendentals.exp(x.mul(-1.702f)).add(1f));
            case GELU_TANH -> {
                FloatVector inner = x.mul(x).mul(x).mul(0.044715f).add(x).mul(SQRT_2_OVER_PI);
                yield x.mul(0.5f).mul(Transcendentals.tanh(inner).add(1f));
            }
            case GELU_ERF -> throw new IllegalStateException("GELU_ERF has no vector form");
        };
    }

    /**
     * One value of f, as torch defines it: relu = max(x, 0) (NaN stays NaN); silu = x * sigmoid(x);
     * quick_gelu = x * sigmoid(1.702 x); gelu(approximate='tanh') =
     * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gelu = 0.5 x (1 + erf(x / sqrt 2)). silu,
     * quick_gelu and gelu tanh take the same float steps as {@link #vector}, through
     * {@link Transcendentals}, so a row's tail matches its vector body bit for bit.
     */
    static float scalar(Activation f, float x) {
        return switch (f) {
            case RELU -> Float.isNaN(x) ? x : Math.max(x, 0f);
            case SILU -> x / (Transcendentals.exp(-x) + 1f);
            case QUICK_GELU -> x / (Transcendentals.exp(x * -1.702f) + 1f);
            case GELU_TANH -> {
                float inner = (x * x * x * 0.044715f + x) * SQRT_2_OVER_PI;
                yield x * 0.5f * (Transcendentals.tanh(inner) + 1f);
            }
            case GELU_ERF -> (float) (0.5 * x * (1.0 + Erf.erf(x * SQRT_HALF)));
        };
    }

    // ---------------------------------------------------------------- plumbing

    /** Runs body over the rows of t in parallel chunks; nothing when rows are empty. */
    private static void forRows(Tensor t, CpuParallel.RangeBody body) {
        int width = Rows.width(t);
        if (width == 0) {
            return;
        }
        CpuParallel.forRange(Rows.count(t), Math.max(1, Rows.GRAIN_ELEMENTS / width), body);
    }

}
