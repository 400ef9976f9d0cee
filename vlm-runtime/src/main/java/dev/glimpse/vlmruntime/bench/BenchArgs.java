package dev.glimpse.vlmruntime.bench;

import java.util.Arrays;

/** Command-line flags of the benchmark mains: {@code --name value} pairs. */
final class BenchArgs {

    private BenchArgs() {
    }

    /**
     * The value after {@code name} in {@code args}, else {@code fallback}.
     *
     * @throws IllegalArgumentException when the flag is absent and has no fallback (null)
     */
    static String flag(String[] args, String name, String fallback) {
        int at = Arrays.asList(args).indexOf(name);
        if (at >= 0 && at + 1 < args.length) {
            return args[at + 1];
        }
        if (fallback == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return fallback;
    }
}
