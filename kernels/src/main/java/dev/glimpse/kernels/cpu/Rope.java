package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Rotary position embedding in HF's "rotate_half" layout ({@code apply_rotary_pos_emb} in
 * {@code modeling_llama.py}: {@code q * cos + rotate_half(q) * sin} with cos/sin duplicated over
 * both halves), applied to the first R dims of every head; dims from R on pass through unchanged
 * (partial rotary). cos/sin are the per-position tables [T, R/2] that
 * {@link dev.glimpse.kernels.RotaryEmbedding} makes.
 */
final class Rope {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Rope() {
    }

    static void apply(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        Rows.requireF32(x, "rope", "x");
        Rows.requireRank(x, 3, "rope", "x", "[T, H, D]");
        Rows.requireF32(cos, "rope", "cos");
        Rows.requireF32(sin, "rope", "sin");
        Rows.requireRank(cos, 2, "rope", "cos", "[T, R/2]");
        int t = x.dim(0);
        int heads = x.dim(1);
        int d = x.dim(2);
        int half = OpChecks.ropeTables(x, cos, sin);
        Rows.requireOut(out, x.shape(), "rope");
        int grain = Math.max(1, Rows.GRAIN_ELEMENTS / Math.max(1, heads * d));
        CpuParallel.forRange(t, grain, (from, to) -> {
            float[] c = new float[half];
            float[] s = new float[half];
            float[] row = new float[d];
            float[] rotated = new float[d];
            for (int p = from; p < to; p++) {
                Rows.read(cos, cos.offset() + p * cos.stride(0), cos.stride(1), half, c, 0);
                Rows.read(sin, sin.offset() + p * sin.stride(0), sin.stride(1), half, s, 0);
                for (int h = 0; h < heads; h++) {
                    Rows.read(x, x.offset() + p * x.stride(0) + h * x.stride(1), x.stride(2), d, row, 0);
                    rotate(row, c, s, half, rotated);
                    System.arraycopy(row, 2 * half, rotated, 2 * half, d - 2 * half);
                    MemorySegment.copy(rotated, 0, out.segment(), F32,
                            out.byteOffset() + ((long) p * heads + h) * d * 4, d);
                }
            }
        });
    }

    /** out_i = x_i c_i - x_{i+half} s_i and out_{i+half} = x_{i+half} c_i + x_i s_i, for i < half. */
    private static void rotate(float[] x, float[] c, float[] s, int half, float[] out) {
        int i = 0;
        for (int bound = SPECIES.loopBound(half); i < bound; i += SPECIES.length()) {
            FloatVector lo = FloatVector.fromArray(SPECIES, x, i);
            FloatVector hi = FloatVector.fromArray(SPECIES, x, i + half);
            FloatVector vc = FloatVector.fromArray(SPECIES, c, i);
            FloatVector vs = FloatVector.fromArray(SPECIES, s, i);
            lo.mul(vc).sub(hi.mul(vs)).intoArray(out, i);
            hi.mul(vc).add(lo.mul(vs)).intoArray(out, i + half);
        }
        for (; i < half; i++) {
            float lo = x[i];
            float hi = x[i + half];
            out[i] = lo * c[i] - hi * s[i];
            out[i + half] = hi * c[i] + lo * s[i];
        }
    }
}
