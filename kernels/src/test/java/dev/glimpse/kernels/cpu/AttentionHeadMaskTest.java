package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** SpAtten head pruning in {@code Backend.attention}: a head mask per query head. */
class AttentionHeadMaskTest {

    private static final int T = 37;
    private static final int S = 45;
    private static final int HQ = 8;
    private static final int HKV = 2;
    private static final int D = 16;
    private static final int START = S - T;

    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(11);
    private final float[] q = Fixtures.values(random, T * HQ * D);
    private final float[] k = Fixtures.values(random, S * HKV * D);
    private final float[] v = Fixtures.values(random, S * HKV * D);

    @Test
    void allHeadsActiveIsBitIdenticalToNoMask() {
        boolean[] all = new boolean[HQ];
        Arrays.fill(all, true);
        float[][] plain = run(null);
        float[][] masked = run(all);
        for (int i = 0; i < plain.length; i++) {
            assertArrayEquals(plain[i], masked[i]);
        }
    }

    @Test
    void maskedHeadsOutputZeroAndOtherHeadsAreUnchanged() {
        boolean[] active = {true, false, true, true, false, false, true, true};
        float[][] plain = run(null);
        float[][] masked = run(active);
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < HQ; h++) {
                for (int c = 0; c < D; c++) {
                    int i = (t * HQ + h) * D + c;
                    if (active[h]) {
                        assertEquals(Float.floatToRawIntBits(plain[0][i]), Float.floatToRawIntBits(masked[0][i]));
                    } else {
                        assertEquals(0, Float.floatToRawIntBits(masked[0][i]), "head " + h + " row " + t);
                    }
                }
            }
        }
        for (int h = 0; h < HQ; h++) {
            for (int j = 0; j < S; j++) {
                float expected = active[h] ? plain[2][h * S + j] : 0f;
                assertEquals(expected, masked[2][h * S + j]);
            }
            for (int r = 0; r < 2; r++) {
                for (int j = 0; j < S; j++) {
                    int i = (h * 2 + r) * S + j;
                    assertEquals(active[h] ? plain[1][i] : 0f, masked[1][i]);
                }
            }
        }
    }

    @Test
    void rejectsAMaskOfTheWrongLength() {
        try (Tensor tq = Tensor.of(q, T, HQ, D); Tensor tk = Tensor.of(k, S, HKV, D); Tensor tv = Tensor.of(v, S, HKV, D);
             Tensor out = Tensor.allocate(DType.F32, T, HQ, D)) {
            assertThrows(TensorException.class, () -> backend.attention(tq, tk, tv, AttentionMask.causal(START), 0.25f,
                    out, null, new boolean[HQ - 1]));
        }
    }

    /** Output, captured rows (0 and T-1) and column sums of one call; captures pre-filled with garbage. */
    private float[][] run(boolean[] activeHeads) {
        int[] rows = {0, T - 1};
        try (Tensor tq = Tensor.of(q, T, HQ, D); Tensor tk = Tensor.of(k, S, HKV, D); Tensor tv = Tensor.of(v, S, HKV, D);
             Tensor out = Tensor.of(filled(T * HQ * D), T, HQ, D);
             Tensor rowProbs = Tensor.of(filled(HQ * rows.length * S), HQ, rows.length, S);
             Tensor columnSums = Tensor.allocate(DType.F32, HQ, S)) {
            backend.attention(tq, tk, tv, AttentionMask.causal(START), 0.25f, out,
                    new AttentionCapture(rows, rowProbs, columnSums), activeHeads);
            return new float[][] {out.toFloatArray(), rowProbs.toFloatArray(), columnSums.toFloatArray()};
        }
    }

    private static float[] filled(int n) {
        float[] f = new float[n];
        Arrays.fill(f, 7f);
        return f;
    }
}
