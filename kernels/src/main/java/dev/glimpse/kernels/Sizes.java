package dev.glimpse.kernels;

import java.util.Locale;

/** Byte sizes as users write them in options: {@code 1073741824}, {@code 512m}, {@code 24g}, {@code 1.5t}. */
public final class Sizes {

    private Sizes() {
    }

    /**
     * Parses a byte count with an optional binary unit (k, m, g, t; case-insensitive).
     *
     * @param source where the text came from (an option or variable name), for the error message
     * @throws IllegalArgumentException naming {@code source} when the text is no such size
     */
    public static long parseBytes(String text, String source) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        long unit = switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            default -> 1L;
        };
        String number = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            double v = Double.parseDouble(number);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v) || v * unit >= Long.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + " must be a size such as 24g, 512m or a byte count, not '" + text + "'");
        }
    }
}
