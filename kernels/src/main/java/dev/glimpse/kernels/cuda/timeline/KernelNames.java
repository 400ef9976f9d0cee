package dev.glimpse.kernels.cuda.timeline;

/**
 * Short names for tables. Glimpse's kernels are {@code extern "C"} and keep their names; cuBLAS,
 * cuBLASLt and CUTLASS kernels arrive Itanium-mangled ({@code _Z...}), for which the nested name
 * before the template arguments and parameters is enough to tell them apart in a summary (the
 * full name stays in the timeline file).
 */
final class KernelNames {

    private KernelNames() {
    }

    /**
     * {@code name} itself unless it is mangled; else its qualified name without template
     * arguments or parameters, e.g. {@code _ZN7cutlass7KernelI...EEvT_} reads {@code cutlass::Kernel}.
     * A name this cannot parse is returned unchanged.
     */
    static String readable(String name) {
        if (!name.startsWith("_Z") || name.length() < 3) {
            return name;
        }
        boolean nested = name.charAt(2) == 'N';
        int at = nested ? 3 : 2;
        StringBuilder out = new StringBuilder();
        while (at < name.length() && Character.isDigit(name.charAt(at))) {
            int digitsEnd = at;
            while (digitsEnd < name.length() && Character.isDigit(name.charAt(digitsEnd))) {
                digitsEnd++;
            }
            int length = Integer.parseInt(name.substring(at, digitsEnd));
            if (digitsEnd + length > name.length()) {
                return name;
            }
            if (!out.isEmpty()) {
                out.append("::");
            }
            out.append(name, digitsEnd, digitsEnd + length);
            at = digitsEnd + length;
            if (!nested) {
                break;
            }
        }
        return out.isEmpty() ? name : out.toString();
    }
}
