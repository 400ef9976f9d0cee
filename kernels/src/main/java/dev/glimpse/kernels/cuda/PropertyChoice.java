package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A choice among an enum's constants named by a system property ({@code -Dglimpse.cuda.gemv=warp}): each
 * constant has an id, matched trimmed and case-insensitively; unset or blank gives the enum's default; any
 * other name is refused with the property, the name and the known ids.
 */
final class PropertyChoice {

    private PropertyChoice() {
    }

    /**
     * The constant of {@code values} whose id is {@code id}; {@code fallback} for null or blank.
     *
     * @param what what the constants are, for the error ("GEMV kernel")
     * @throws CudaException {@code -D<property>=<id> names no <what>; known: <ids>} for any other id
     */
    static <E extends Enum<E>> E parse(String property, String id, E fallback, E[] values, Function<E, String> idOf,
                                       String what) {
        if (id == null || id.isBlank()) {
            return fallback;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (E value : values) {
            if (idOf.apply(value).equals(wanted)) {
                return value;
            }
        }
        throw new CudaException("-D" + property + "=" + id + " names no " + what + "; known: "
                + Arrays.stream(values).map(idOf).collect(Collectors.joining(", ")));
    }
}
