package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;

/**
 * Whether a configuration found by the wide search ({@link LtWideSearch}) computes what the
 * heuristic's first algorithm computes on the same operands: {@code cublasLtMatmulAlgoCheck}
 * vouches for a configuration being runnable, not for its results, and the wide search runs
 * configurations no heuristic ever proposed. Both sum the same F32 products in other orders, so
 * the outputs agree to well within {@value #F32_TOLERANCE} of the larger of 1 and the largest
 * magnitude in F32, and within {@value #HALF_TOLERANCE} (a rounding step of the 16-bit output)
 * in F16/BF16; a broken kernel misses by orders of magnitude.
 */
final class LtResultCheck {

    static final double F32_TOLERANCE = 1e-3;
    static final double HALF_TOLERANCE = 1e-2;

    private LtResultCheck() {
    }

    /** The largest |expected - actual| over max(1, max |expected|); infinite where only one of a pair is NaN. */
    static double normalizedError(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new IllegalArgumentException("outputs of " + expected.length + " and " + actual.length + " values");
        }
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            boolean nanE = Float.isNaN(expected[i]);
            if (nanE != Float.isNaN(actual[i])) {
                return Double.POSITIVE_INFINITY;
            }
            if (!nanE) {
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
                maxErr = Math.max(maxErr, Math.abs((double) expected[i] - actual[i]));
            }
        }
        return maxErr / Math.max(1.0, maxRef);
    }

    /** Whether {@code actual} agrees with {@code expected}, outputs of {@code type}, within that type's tolerance. */
    static boolean agrees(float[] expected, float[] actual, DType type) {
        return normalizedError(expected, actual) <= (type == DType.F32 ? F32_TOLERANCE : HALF_TOLERANCE);
    }
}
