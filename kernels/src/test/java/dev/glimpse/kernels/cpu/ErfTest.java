package dev.glimpse.kernels.cpu;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErfTest {

    private static final MathContext MC = new MathContext(40);
    private static final BigDecimal SQRT_PI = new BigDecimal("1.772453850905516027298167483341145182797549456122387128213807789852911284591");

    /** erf by its Maclaurin series in 40-digit decimal arithmetic (exact enough for any double input). */
    static double referenceErf(double x) {
        if (Math.abs(x) > 7) {
            return Math.signum(x);
        }
        BigDecimal bx = new BigDecimal(x);
        BigDecimal z = bx.multiply(bx, MC);
        BigDecimal term = bx;
        BigDecimal sum = BigDecimal.ZERO;
        for (int n = 0; n < 300; n++) {
            sum = sum.add(term.divide(BigDecimal.valueOf(2L * n + 1), MC), MC);
            term = term.multiply(z, MC).negate().divide(BigDecimal.valueOf(n + 1), MC);
        }
        return sum.multiply(BigDecimal.valueOf(2), MC).divide(SQRT_PI, MC).doubleValue();
    }

    @Test
    void erfHasRelativeErrorBelowOneInTenMillionAcrossTheRange() {
        double worst = 0;
        for (double x = -6.5; x <= 6.5; x += 0.0173) {
            double expected = referenceErf(x);
            worst = Math.max(worst, Math.abs(Erf.erf(x) - expected) / Math.abs(expected));
        }
        assertTrue(worst < 1e-7, "worst relative error " + worst);
    }

    @Test
    void erfOfSpecialValues() {
        assertEquals(0.0, Erf.erf(0.0));
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
    }
}
