package dev.glimpse.kernels.cuda;

import java.util.Properties;
import java.util.stream.Collectors;

/**
 * The {@code glimpse.cuda.*} system properties as one string: they pick kernels at launch (GEMM
 * algorithm and epilogues, attention shape, 16-bit inputs, fused ops), so a captured CUDA graph
 * holds the choices of the settings it was captured under, and a replay key that includes this
 * string captures anew when one of them is flipped (an A/B run in one process).
 */
public final class LaunchSettings {

    private LaunchSettings() {
    }

    /** The {@code glimpse.cuda.*} entries of {@code properties} but {@code graphSwitch}, sorted, as {@code a=1,b=2}. */
    public static String of(Properties properties, String graphSwitch) {
        return properties.stringPropertyNames().stream()
                .filter(name -> name.startsWith("glimpse.cuda.") && !name.equals(graphSwitch))
                .sorted()
                .map(name -> name + "=" + properties.getProperty(name))
                .collect(Collectors.joining(","));
    }
}
