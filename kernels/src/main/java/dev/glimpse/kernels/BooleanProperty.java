package dev.glimpse.kernels;

import java.util.Locale;

/**
 * An on/off system property read strictly: {@code true} or {@code false} (any case, surrounding spaces
 * ignored), unset or blank for the default, anything else an error naming the property. An A/B switch that
 * took anything but "false" as on would let {@code =off}, {@code =0} or a typo silently keep the default.
 */
public final class BooleanProperty {

    private BooleanProperty() {
    }

    /** The value {@code property} has now, {@code defaultValue} when it is unset or blank. */
    public static boolean read(String property, boolean defaultValue) {
        return parse(property, System.getProperty(property), defaultValue);
    }

    /**
     * {@code value} of {@code property} as a boolean, {@code defaultValue} for null or blank.
     *
     * @throws IllegalArgumentException naming the property, the value and the accepted ones
     */
    public static boolean parse(String property, String value, boolean defaultValue) {
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("-D" + property + " must be true or false (blank: "
                    + defaultValue + "), got '" + value + "'");
        };
    }
}
