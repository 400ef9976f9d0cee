package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RopeTest {

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(3);

    /** HF apply_rotary_pos_emb: x * cat(cos, cos) + rotate_half(x) * cat(sin, sin) on the first R dims. */
    private static double[] reference(float[] x, float[] cos, float[] sin, int t, int h, int d, int half) {
        double[] out = new double[x.length];
        for (int p = 0; p < t; p++) {
            for (int head = 0; head < h; head++) {
                int base = (p * h + head) * d;
                for (int i = 0; i < d; i++) {
                    if (i >= 2 * half) {
                        out[base + i] = x[base + i];
                        continue;
                    }
                    int j = i % half;
                    double c = cos[p * half + j];
                    double s = sin[p * half + j];
                    double rotated = i < half ? -x[base + i + half] : x[base + i - half];
                    out[base + i] = x[base + i] * c + rotated * s;
                }
            }
        }
        return out;
    }

    private float[] angles(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    @Test
    void rotatesEveryHeadInRotateHalfLayout() {
        int t = 5;
        int h = 3;
        int d = 34;
        float[] x = Fixtures.values(random, t * h * d);
        float[] c = angles(t * d / 2);
        float[] s = angles(t * d / 2);
        try (Tensor tx = Tensor.of(x, t, h, d); Tensor tc = Tensor.of(c, t, d / 2); Tensor ts = Tensor.of(s, t, d / 2);
             Tensor out = Tensor.allocate(DType.F32, t, h, d)) {
            backend.rope(tx, tc, ts, out);
            assertClose(reference(x, c, s, t, h, d, d / 2), out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void partialRotaryPassesTrailingDimsThroughAndWorksInPlace() {
        int t = 4;
        int h = 2;
        int d = 40;
        int half = 10;
        float[] x = Fixtures.values(random, t * h * d);
        float[] c = angles(t * half);
        float[] s = angles(t * half);
        try (Tensor tx = Tensor.of(x.clone(), t, h, d); Tensor tc = Tensor.of(c, t, half); Tensor ts = Tensor.of(s, t, half)) {
            backend.rope(tx, tc, ts, tx);
            assertClose(reference(x, c, s, t, h, d, half), tx.toFloatArray(), 1e-6);
        }
    }

    @Test
    void readsAStridedViewOfQueriesInAPackedQkvBuffer() {
        int t = 3;
        int h = 2;
        int d = 8;
        float[] qkv = Fixtures.values(random, t * 3 * h * d);
        float[] c = angles(t * d / 2);
        float[] s = angles(t * d / 2);
        try (Tensor packed = Tensor.of(qkv, t, 3 * h, d); Tensor tc = Tensor.of(c, t, d / 2); Tensor ts = Tensor.of(s, t, d / 2);
             Tensor out = Tensor.allocate(DType.F32, t, h, d)) {
            Tensor k = packed.slice(1, h, 2 * h);
            backend.rope(k, tc, ts, out);
            float[] kValues = k.toFloatArray();
            assertClose(reference(kValues, c, s, t, h, d, d / 2), out.toFloatArray(), 1e-6);
        }
    }

    @Test
    void rejectsTablesWiderThanTheHead() {
        try (Tensor x = Tensor.allocate(DType.F32, 2, 1, 4); Tensor c = Tensor.allocate(DType.F32, 2, 3);
             Tensor out = Tensor.allocate(DType.F32, 2, 1, 4)) {
            assertThrows(TensorException.class, () -> backend.rope(x, c, c, out));
        }
    }
}
