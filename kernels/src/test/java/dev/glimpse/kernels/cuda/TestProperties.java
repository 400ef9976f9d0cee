package dev.glimpse.kernels.cuda;

/** System-property helpers for tests that flip a {@code -Dglimpse.cuda...} switch and put it back. */
final class TestProperties {

    private TestProperties() {
    }

    /** Sets {@code property} back to {@code value}, or clears it where {@code value} is null (it was unset). */
    static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }
}
