package dev.glimpse.kernels;

import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which attention precision a model's weights ask for, and what the CPU backend makes of it. */
class AttentionPrecisionTest {

    @Test
    void bf16WeightsAskForBf16() {
        assertEquals(AttentionPrecision.BF16, AttentionPrecision.forWeights(DType.BF16));
    }

    @Test
    void f16WeightsAskForF16() {
        assertEquals(AttentionPrecision.F16, AttentionPrecision.forWeights(DType.F16));
    }

    @Test
    void f32WeightsAskForF32() {
        assertEquals(AttentionPrecision.F32, AttentionPrecision.forWeights(DType.F32));
    }

    @Test
    void scoredPassesRunAtF32() {
        assertEquals(AttentionPrecision.F32, AttentionPrecision.BF16.unlessScored(true));
        assertEquals(AttentionPrecision.F32, AttentionPrecision.F16.unlessScored(true));
        assertEquals(AttentionPrecision.BF16, AttentionPrecision.BF16.unlessScored(false));
        assertEquals(AttentionPrecision.F32, AttentionPrecision.F32.unlessScored(false));
    }

    @Test
    void cpuBackendComputesF32AtEveryPrecision() {
        Random random = new Random(5);
        int t = 20;
        int hq = 4;
        int hkv = 2;
        int d = 16;
        try (CpuBackend backend = new CpuBackend();
             Tensor q = Tensor.of(values(random, t * hq * d), t, hq, d);
             Tensor k = Tensor.of(values(random, t * hkv * d), t, hkv, d);
             Tensor v = Tensor.of(values(random, t * hkv * d), t, hkv, d);
             Tensor exact = Tensor.allocate(DType.F32, t, hq, d);
             Tensor half = Tensor.allocate(DType.F32, t, hq, d)) {
            backend.attention(q, k, v, AttentionMask.causal(0), 0.25f, exact, null, null, AttentionPrecision.F32);
            for (AttentionPrecision precision : new AttentionPrecision[] {AttentionPrecision.BF16, AttentionPrecision.F16}) {
                backend.attention(q, k, v, AttentionMask.causal(0), 0.25f, half, null, null, precision);
                assertArrayEquals(exact.toFloatArray(), half.toFloatArray(), precision.toString());
            }
        }
    }

    private static float[] values(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
