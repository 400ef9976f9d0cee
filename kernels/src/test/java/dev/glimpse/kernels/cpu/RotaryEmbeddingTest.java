package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.RopeParameters;
import dev.glimpse.kernels.RotaryEmbedding;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import static dev.glimpse.kernels.cpu.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link RotaryEmbedding} against the formulas of transformers' {@code modeling_rope_utils.py},
 * recomputed here in double precision (the class works in float32 as torch does, so values
 * agree to float rounding).
 */
class RotaryEmbeddingTest {

    private static final double TOL = 2e-6;

    private static double[] defaultInv(double base, int dim) {
        double[] inv = new double[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1 / Math.pow(base, 2.0 * i / dim);
        }
        return inv;
    }

    private static RopeParameters yarn(Double factor, Integer originalMax, Double mscale, Double mscaleAllDim) {
        return new RopeParameters("yarn", 10000, 64, 1.0, 8192, factor, originalMax, null, null, null,
                null, null, mscale, mscaleAllDim, null, null, null);
    }

    @Test
    void defaultIsTheInverseGeometricSeries() {
        RotaryEmbedding rope = new RotaryEmbedding(RopeParameters.standard(10000, 128, 4096));
        assertClose(defaultInv(10000, 128), rope.inverseFrequencies(1), TOL);
        assertEquals(1.0, rope.attentionScaling());
    }

    @Test
    void partialRotaryFactorShrinksTheRotaryDim() {
        RotaryEmbedding rope = new RotaryEmbedding(RopeParameters.standard(10000, 80, 4096).withPartialRotaryFactor(0.4));
        assertEquals(32, rope.rotaryDim());
        assertClose(defaultInv(10000, 32), rope.inverseFrequencies(1), TOL);
    }

    @Test
    void linearDividesByTheFactor() {
        double[] expected = defaultInv(10000, 64);
        for (int i = 0; i < expected.length; i++) {
            expected[i] /= 4;
        }
        assertClose(expected, new RotaryEmbedding(RopeParameters.linear(10000, 64, 4096, 4)).inverseFrequencies(1), TOL);
    }

    @Test
    void dynamicGrowsTheBaseOnlyPastTheMaximumLength() {
        RotaryEmbedding rope = new RotaryEmbedding(RopeParameters.dynamic(10000, 64, 2048, 2));
        assertClose(defaultInv(10000, 64), rope.inverseFrequencies(100), TOL);
        double base = 10000 * Math.pow(2.0 * 3000 / 2048 - 1, 64.0 / 62);
        assertClose(defaultInv(base, 64), rope.inverseFrequencies(3000), TOL);
    }

    @Test
    void llama3KeepsHighFrequenciesScalesLowOnesAndBlendsBetween() {
        double factor = 8;
        double low = 1;
        double high = 4;
        int old = 8192;
        double[] expected = defaultInv(500000, 128);
        for (int i = 0; i < expected.length; i++) {
            double wavelen = 2 * Math.PI / expected[i];
            if (wavelen > old / low) {
                expected[i] /= factor;
            } else if (wavelen >= old / high) {
                double smooth = (old / wavelen - low) / (high - low);
                expected[i] = (1 - smooth) * expected[i] / factor + smooth * expected[i];
            }
        }
        RotaryEmbedding rope = new RotaryEmbedding(RopeParameters.llama3(500000, 128, 131072, factor, low, high, old));
        assertClose(expected, rope.inverseFrequencies(1), TOL);
    }

    @Test
    void yarnBlendsInterpolationOverTheCorrectionRamp() {
        double factor = 4;
        int dim = 64;
        int original = 2048;
        double[] extrapolation = defaultInv(10000, dim);
        double lowDim = Math.floor(dim * Math.log(original / (32 * 2 * Math.PI)) / (2 * Math.log(10000)));
        double highDim = Math.ceil(dim * Math.log(original / (1 * 2 * Math.PI)) / (2 * Math.log(10000)));
        lowDim = Math.max(lowDim, 0);
        highDim = Math.min(highDim, dim - 1);
        double[] expected = new double[dim / 2];
        for (int i = 0; i < expected.length; i++) {
            double ramp = Math.min(1, Math.max(0, (i - lowDim) / (highDim - lowDim)));
            double extrapolationFactor = 1 - ramp;
            expected[i] = extrapolation[i] / factor * (1 - extrapolationFactor) + extrapolation[i] * extrapolationFactor;
        }
        RotaryEmbedding rope = new RotaryEmbedding(yarn(factor, original, null, null));
        assertClose(expected, rope.inverseFrequencies(1), TOL);
        assertEquals(0.1 * Math.log(4) + 1, rope.attentionScaling(), 1e-12);
    }

    @Test
    void yarnAttentionFactorUsesTheMscaleRatioAndDerivesAMissingFactor() {
        RotaryEmbedding rope = new RotaryEmbedding(yarn(null, 4096, 0.707, 0.707));
        assertEquals(1.0, rope.attentionScaling(), 1e-12);
        RotaryEmbedding plain = new RotaryEmbedding(yarn(null, 4096, null, null));
        assertEquals(0.1 * Math.log(8192.0 / 4096) + 1, plain.attentionScaling(), 1e-12);
    }

    @Test
    void longropeSwitchesToLongFactorsPastTheOriginalLength() {
        int dim = 8;
        double[] shortF = {1, 1.5, 2, 2.5};
        double[] longF = {3, 4, 5, 6};
        RopeParameters p = new RopeParameters("longrope", 10000, dim, 1.0, 131072, null, 4096, null, null, null,
                null, null, null, null, null, shortF, longF);
        RotaryEmbedding rope = new RotaryEmbedding(p);
        double[] base = defaultInv(10000, dim);
        double[] expectedShort = new double[4];
        double[] expectedLong = new double[4];
        for (int i = 0; i < 4; i++) {
            expectedShort[i] = base[i] / shortF[i];
            expectedLong[i] = base[i] / longF[i];
        }
        assertClose(expectedShort, rope.inverseFrequencies(4096), TOL);
        assertClose(expectedLong, rope.inverseFrequencies(4097), TOL);
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), rope.attentionScaling(), 1e-12);
    }

    @Test
    void tablesHoldScaledCosAndSinOfPositionTimesFrequency() {
        RotaryEmbedding rope = new RotaryEmbedding(yarn(4.0, 2048, null, null));
        int[] positions = {0, 5, 1000};
        int half = 32;
        float[] inv = rope.inverseFrequencies(1001);
        double scaling = rope.attentionScaling();
        try (Tensor cos = Tensor.allocate(DType.F32, 3, half); Tensor sin = Tensor.allocate(DType.F32, 3, half)) {
            rope.tables(positions, cos, sin);
            double[] expectedCos = new double[3 * half];
            double[] expectedSin = new double[3 * half];
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < half; i++) {
                    float freq = inv[i] * positions[t];
                    expectedCos[t * half + i] = Math.cos(freq) * scaling;
                    expectedSin[t * half + i] = Math.sin(freq) * scaling;
                }
            }
            assertClose(expectedCos, cos.toFloatArray(), 1e-6);
            assertClose(expectedSin, sin.toFloatArray(), 1e-6);
        }
    }

    @Test
    void unknownTypesAndMissingSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new RopeParameters("su", 10000, 64, 1.0, 4096,
                null, null, null, null, null, null, null, null, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> new RopeParameters("llama3", 10000, 64, 1.0, 4096,
                8.0, null, 1.0, 4.0, null, null, null, null, null, null, null, null));
    }
}
