package dev.glimpse.visionencoder;

import dev.glimpse.kernels.io.CheckpointException;

import java.util.Arrays;

/**
 * A vision-tower weight exists but does not fit the config: wrong shape or a non-float dtype. The
 * message names the tensor, where it was read from, and the expected and actual shape, so a user
 * can tell a truncated or mismatched checkpoint from a wrong config.json.
 */
public final class WeightShapeException extends CheckpointException {

    private final String tensorName;
    private final int[] expected;
    private final int[] actual;

    public WeightShapeException(String tensorName, String origin, int[] expected, int[] actual, String detail) {
        super("vision weight '" + tensorName + "' in " + origin + ": expected shape " + Arrays.toString(expected)
                + ", got " + Arrays.toString(actual) + (detail.isEmpty() ? "" : " (" + detail + ")"));
        this.tensorName = tensorName;
        this.expected = expected.clone();
        this.actual = actual.clone();
    }

    public String tensorName() {
        return tensorName;
    }

    public int[] expected() {
        return expected.clone();
    }

    public int[] actual() {
        return actual.clone();
    }
}
