package dev.glimpse.vlmruntime;

import java.util.HashMap;
import java.util.Map;

/**
 * The values some system properties have now, put back (or cleared where they were unset) at {@link #close}: a test
 * that sets a {@code -Dglimpse...} switch restores what the JVM was started with instead of clearing it, so a suite
 * run under, say, {@code -Dglimpse.cuda.decodeAhead=false} keeps that setting for every later test class.
 *
 * <pre>{@code
 * try (SavedProperties saved = SavedProperties.of(NAME)) { System.setProperty(NAME, "0"); ... }
 * }</pre>
 * or a field {@code SavedProperties.of(...)} closed in an {@code @AfterEach} (JUnit makes one instance per test).
 */
public final class SavedProperties implements AutoCloseable {

    private final Map<String, String> previous = new HashMap<>();

    private SavedProperties(String... names) {
        for (String name : names) {
            previous.put(name, System.getProperty(name));
        }
    }

    /** The current values of {@code names}. */
    public static SavedProperties of(String... names) {
        return new SavedProperties(names);
    }

    /** Puts every saved property back to its value, or clears it where it was unset. */
    @Override
    public void close() {
        previous.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
    }
}
