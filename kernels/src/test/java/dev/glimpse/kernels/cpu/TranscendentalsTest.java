package dev.glimpse.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dev.glimpse.kernels.cpu.Rows.SPECIES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TranscendentalsTest {

    /** exp's smallest and largest arguments with a nonzero, finite float result. */
    private static final float EXP_LOW = -103.97f;
    private static final float EXP_HIGH = 88.72283f;

    private static double ulpsFromExp(float x) {
        double exact = Math.exp(x);
        double ulp = Math.ulp((float) exact);
        return Math.abs(Transcendentals.exp(x) - exact) / ulp;
    }

    @Test
    void expIsWithinTwoUlpsOfMathExpOnADenseSweep() {
        double worst = 0;
        float worstAt = 0;
        int lowBits = Float.floatToRawIntBits(EXP_LOW);
        for (int bits = lowBits; bits > 0; bits -= 61) {
            float x = Float.intBitsToFloat(bits);
            double u = ulpsFromExp(x);
            if (u > worst) {
                worst = u;
                worstAt = x;
            }
        }
        for (int bits = 0; bits <= Float.floatToRawIntBits(EXP_HIGH); bits += 61) {
            float x = Float.intBitsToFloat(bits);
            double u = ulpsFromExp(x);
            if (u > worst) {
                worst = u;
                worstAt = x;
            }
        }
        assertTrue(worst <= 2.0, "max " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void expIsWithinTwoUlpsOfMathExpOnRandomArguments() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 2_000_000; i++) {
            float x = (float) random.nextDouble(EXP_LOW, EXP_HIGH);
            assertTrue(ulpsFromExp(x) <= 2.0, "x = " + x);
        }
    }

    @Test
    void expHandlesSpecialValues() {
        assertTrue(Float.isNaN(Transcendentals.exp(Float.NaN)));
        assertEquals(0f, Transcendentals.exp(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Transcendentals.exp(Float.POSITIVE_INFINITY));
        assertEquals(1f, Transcendentals.exp(0f));
        assertEquals(1f, Transcendentals.exp(-0f));
        assertEquals(0f, Transcendentals.exp(-104f));
        assertEquals(0f, Transcendentals.exp(-1e30f));
        assertEquals(Float.POSITIVE_INFINITY, Transcendentals.exp(88.73f));
        assertEquals(Float.POSITIVE_INFINITY, Transcendentals.exp(1e30f));
        assertEquals((float) Math.exp(EXP_HIGH), Transcendentals.exp(EXP_HIGH));
        assertTrue(Transcendentals.exp(-87.3f) > 0f);
        assertEquals(Float.MIN_VALUE, Transcendentals.exp(-103.2f));
    }

    @Test
    void tanhIsWithinTwoTenMillionthsOfMathTanh() {
        double worst = 0;
        float worstAt = 0;
        for (int bits = Float.floatToRawIntBits(20f); bits > 0; bits -= 37) {
            for (float x : new float[] {Float.intBitsToFloat(bits), -Float.intBitsToFloat(bits)}) {
                double err = Math.abs(Transcendentals.tanh(x) - Math.tanh(x));
                if (err > worst) {
                    worst = err;
                    worstAt = x;
                }
            }
        }
        assertTrue(worst <= 2e-7, "max " + worst + " at x = " + worstAt);
    }

    @Test
    void tanhHandlesSpecialValues() {
        assertTrue(Float.isNaN(Transcendentals.tanh(Float.NaN)));
        assertEquals(1f, Transcendentals.tanh(Float.POSITIVE_INFINITY));
        assertEquals(-1f, Transcendentals.tanh(Float.NEGATIVE_INFINITY));
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(Transcendentals.tanh(0f)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Transcendentals.tanh(-0f)));
        assertEquals(1f, Transcendentals.tanh(50f));
        assertEquals(-1f, Transcendentals.tanh(-50f));
    }

    private static float[] mixedArguments(int n) {
        SplittableRandom random = new SplittableRandom(5);
        float[] specials = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, -104f, -103.2f,
                -87.4f, 88.72283f, 88.73f, 0.125f, -0.125f, 0.12499999f, Float.MIN_VALUE, -Float.MAX_VALUE};
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i < specials.length ? specials[i] : (float) random.nextDouble(-110, 95);
        }
        return x;
    }

    @Test
    void laneExpMatchesScalarExpBitForBit() {
        float[] x = mixedArguments(SPECIES.length() * 20_000);
        float[] lanes = new float[x.length];
        for (int i = 0; i < x.length; i += SPECIES.length()) {
            Transcendentals.exp(FloatVector.fromArray(SPECIES, x, i)).intoArray(lanes, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(Transcendentals.exp(x[i])), Float.floatToIntBits(lanes[i]),
                    "x = " + x[i]);
        }
    }

    @Test
    void laneTanhMatchesScalarTanhBitForBit() {
        float[] x = mixedArguments(SPECIES.length() * 20_000);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.1f;
        }
        float[] lanes = new float[x.length];
        for (int i = 0; i < x.length; i += SPECIES.length()) {
            Transcendentals.tanh(FloatVector.fromArray(SPECIES, x, i)).intoArray(lanes, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(Transcendentals.tanh(x[i])), Float.floatToIntBits(lanes[i]),
                    "x = " + x[i]);
        }
    }
}
