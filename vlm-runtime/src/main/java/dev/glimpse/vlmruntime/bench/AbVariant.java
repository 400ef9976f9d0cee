package dev.glimpse.vlmruntime.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * One variant of an in-process A/B: a label and the system properties set while its requests run
 * (none: the defaults, or what the JVM was started with).
 *
 * @param label      the name the results carry
 * @param properties property name to value, in the order given
 */
record AbVariant(String label, Map<String, String> properties) {

    AbVariant {
        properties = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    /**
     * Runs {@code body} with this variant's properties set, then restores each to its previous value,
     * or its absence, also when {@code body} throws.
     */
    <T> T during(Supplier<T> body) {
        Map<String, String> previous = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : properties.entrySet()) {
                previous.put(e.getKey(), System.getProperty(e.getKey()));
                System.setProperty(e.getKey(), e.getValue());
            }
            return body.get();
        } finally {
            previous.forEach((name, value) -> {
                if (value == null) {
                    System.clearProperty(name);
                } else {
                    System.setProperty(name, value);
                }
            });
        }
    }

    /** The properties as {@code a=1,b=2}, empty for none. */
    String describe() {
        return properties.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }
}
