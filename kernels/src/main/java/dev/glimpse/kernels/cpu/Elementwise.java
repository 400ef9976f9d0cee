package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.glimpse.kernels.cpu.Rows.ORDER;
import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Pointwise ops on F32 activations: add, mul (with suffix broadcasting), scale, activations and the
 * gated MLP product. Rows whose last dim is packed F32 are read in place with vectors; any other
 * row is first gathered into a scratch array, so every stride and weight dtype takes one path.
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
            float[] scratch = new float[n];
            long[] off = new long[1];
            for (int r = from; r < to; r++) {
                MemorySegment src = Rows.rowSource(a, r, scratch, off);
                long dst = (long) r * n * 4;
                int i = 0;
                for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                    FloatVector.fromMemorySegment(SPECIES, src, off[0] + i * 4L, ORDER).mul(s)
                            .intoMemorySegment(out.segment(), out.byteOffset() + dst + i * 4L, ORDER);
                }
                for (; i < n; i++) {
                    set(out, dst, i, get(src, off[0], i) * s);
                }
            }
        });
    }

    /** out = f(x); out may be x. */
    static void activation(Activation f, Tensor x, Tensor out) {
        requireActivation(f);
        Rows.requireF32(x, "activation", "x");
        Rows.requireOut(out, x.shape(), "activation");
        int n = Rows.width(x);
        forRows(x, (from, to) -> {
            float[] scratch = new float[n];
            long[] off = new long[1];
            for (int r = from; r < to; r++) {
                MemorySegment src = Rows.rowSource(x, r, scratch, off);
                apply(f, src, off[0], out.segment(), out.byteOffset() + (long) r * n * 4, n);
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
        Rows.requireOut(out, gate.shape(), "gatedActivation");
        int n = Rows.width(gate);
        forRows(gate, (from, to) -> {
            float[] scratch = new float[n];
            float[] activated = new float[n];
            MemorySegment act = MemorySegment.ofArray(activated);
            long[] off = new long[1];
            for (int r = from; r < to; r++) {
                MemorySegment g = Rows.rowSource(gate, r, scratch, off);
                apply(f, g, off[0], act, 0, n);
                MemorySegment u = Rows.rowSource(up, r, scratch, off);
                combine(act, 0, u, off[0], out.segment(), out.byteOffset() + (long) r * n * 4, n, true);
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
            float[] aScratch = new float[n];
            float[] bScratch = new float[n];
            long[] aOff = new long[1];
            long[] bOff = new long[1];
            for (int r = from; r < to; r++) {
                MemorySegment as = Rows.rowSource(a, r, aScratch, aOff);
                MemorySegment bs = Rows.rowSource(b, r % bRows, bScratch, bOff);
                combine(as, aOff[0], bs, bOff[0], out.segment(), out.byteOffset() + (long) r * n * 4, n, multiply);
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

    private static void combine(MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long outOff,
                                int n, boolean multiply) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector va = FloatVector.fromMemorySegment(SPECIES, a, aOff + i * 4L, ORDER);
            FloatVector vb = FloatVector.fromMemorySegment(SPECIES, b, bOff + i * 4L, ORDER);
            (multiply ? va.mul(vb) : va.add(vb)).intoMemorySegment(out, outOff + i * 4L, ORDER);
        }
        for (; i < n; i++) {
            float x = get(a, aOff, i);
            float y = get(b, bOff, i);
            out.set(F32, outOff + i * 4L, multiply ? x * y : x + y);
        }
    }

    // ---------------------------------------------------------------- activations

    private static void requireActivation(Activation f) {
        if (f == null) {
            throw new TensorException("activation: the activation function must not be null");
        }
    }

    /** Applies f to n packed floats of src into dst (which may be the same memory). */
    private static void apply(Activation f, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int i = 0;
        if (f != Activation.GELU_ERF) {
            for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, src, srcOff + i * 4L, ORDER);
                vector(f, x).intoMemorySegment(dst, dstOff + i * 4L, ORDER);
            }
        }
        for (; i < n; i++) {
            dst.set(F32, dstOff + i * 4L, scalar(f, get(src, srcOff, i)));
        }
    }

    private static FloatVector vector(Activation f, FloatVector x) {
        return switch (f) {
            case RELU -> x.max(0f);
            case SILU -> x.div(x.neg().lanewise(VectorOperators.EXP).add(1f));
            case QUICK_GELU -> x.div(x.mul(-1.702f).lanewise(VectorOperators.EXP).add(1f));
            case GELU_TANH -> {
                FloatVector inner = x.mul(x).mul(x).mul(0.044715f).add(x).mul(SQRT_2_OVER_PI);
                yield x.mul(0.5f).mul(inner.lanewise(VectorOperators.TANH).add(1f));
            }
            case GELU_ERF -> throw new IllegalStateException("GELU_ERF has no vector form");
        };
    }

    /**
     * One value of f, as torch defines it: relu = max(x, 0) (NaN stays NaN); silu = x * sigmoid(x);
     * quick_gelu = x * sigmoid(1.702 x); gelu(approximate='tanh') =
     * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); gelu = 0.5 x (1 + erf(x / sqrt 2)).
     */
    static float scalar(Activation f, float x) {
        return switch (f) {
            case RELU -> Float.isNaN(x) ? x : Math.max(x, 0f);
            case SILU -> (float) (x / (1.0 + Math.exp(-x)));
            case QUICK_GELU -> (float) (x / (1.0 + Math.exp(-1.702 * x)));
            case GELU_TANH -> (float) (0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x))));
            case GELU_ERF -> (float) (0.5 * x * (1.0 + Erf.erf(x * SQRT_HALF)));
        };
    }

    // ---------------------------------------------------------------- plumbing

    private static void forRows(Tensor t, CpuParallel.RangeBody body) {
        int width = Math.max(1, Rows.width(t));
        CpuParallel.forRange(Rows.count(t), Math.max(1, Rows.GRAIN_ELEMENTS / width), body);
    }

    private static float get(MemorySegment s, long byteOffset, int i) {
        return s.get(F32, byteOffset + i * 4L);
    }

    private static void set(Tensor out, long rowByteOffset, int i, float v) {
        out.segment().set(F32, out.byteOffset() + rowByteOffset + i * 4L, v);
    }
}
