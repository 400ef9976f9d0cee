package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;

/** Small helpers for decoder-attention tests. */
final class DecoderFixtures {

    private DecoderFixtures() {
    }

    static Tensor rows(float[][] values) {
        float[] flat = new float[values.length * values[0].length];
        for (int r = 0; r < values.length; r++) {
            System.arraycopy(values[r], 0, flat, r * values[0].length, values[0].length);
        }
        return Tensor.of(flat, values.length, values[0].length);
    }

    static Tensor cube(float[][][] values) {
        int a = values.length;
        int b = values[0].length;
        int c = values[0][0].length;
        float[] flat = new float[a * b * c];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                System.arraycopy(values[i][j], 0, flat, (i * b + j) * c, c);
            }
        }
        return Tensor.of(flat, a, b, c);
    }

    static DecoderAttention lastRow(int layer, float[][] probs) {
        return new DecoderAttention(layer, rows(probs), null, null, null);
    }

    static DecoderAttention columns(int layer, float[][] sums) {
        return new DecoderAttention(layer, null, null, rows(sums), null);
    }
}
