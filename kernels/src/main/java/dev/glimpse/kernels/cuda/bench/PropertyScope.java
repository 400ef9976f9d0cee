package dev.glimpse.kernels.cuda.bench;

import java.util.function.DoubleSupplier;

/**
 * Runs bench work with one system property set (the backend reads its variant switches, such as
 * {@code glimpse.cuda.ltTune}, from system properties), then restores the property's previous
 * value, or its absence.
 */
public final class PropertyScope {

    private PropertyScope() {
    }

    /** Runs {@code body} with {@code key} set to {@code value}. */
    public static void run(String key, String value, Runnable body) {
        measure(key, value, () -> {
            body.run();
            return 0;
        });
    }

    /** The measurement {@code body} takes with {@code key} set to {@code value}. */
    public static double measure(String key, String value, DoubleSupplier body) {
        String previous = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return body.getAsDouble();
        } finally {
            if (previous == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, previous);
            }
        }
    }
}
