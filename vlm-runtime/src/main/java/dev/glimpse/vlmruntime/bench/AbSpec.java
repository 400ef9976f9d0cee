package dev.glimpse.vlmruntime.bench;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The variants of {@code CudaLlavaBench --ab}, parsed from
 * {@code "base=;lean=glimpse.cuda.towerLean=true;lp=glimpse.cuda.towerLean=true,glimpse.cuda.pdlPrefill=true"}:
 * variants separated by {@code ;}, each a label, {@code =}, and {@code name=value} properties
 * separated by {@code ,} (none: the JVM's settings). The first variant is the base the others'
 * ratios are taken against. Every property must be one {@link InProcessProperties} allows.
 * At most {@value #MAX_VARIANTS} variants: the vision tower holds four CUDA graphs (least recently
 * used out; each set of session buffers eight prefill graphs), one per variant of a measured request,
 * so a fifth variant would evict and recapture graphs inside the measured rounds.
 *
 * @param variants the variants in the order given, base first
 */
record AbSpec(List<AbVariant> variants) {

    /** Variants at most: the smaller graph cache's capacity (TowerGraphs holds four graphs, PrefillGraphs eight). */
    static final int MAX_VARIANTS = 4;
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_.-]+");

    AbSpec {
        variants = List.copyOf(variants);
    }

    /** The spec {@code text} describes; errors name the part at fault. */
    static AbSpec parse(String text) {
        List<AbVariant> variants = new ArrayList<>();
        Set<String> labels = new HashSet<>();
        for (String part : text.split(";")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--ab variant '" + part + "' is not label=properties (e.g. base= or"
                        + " lean=glimpse.cuda.towerLean=true)");
            }
            String label = part.substring(0, eq).trim();
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("--ab label '" + label + "' must be letters, digits, '_', '.' or '-'");
            }
            if (!labels.add(label)) {
                throw new IllegalArgumentException("--ab label '" + label + "' is given twice");
            }
            variants.add(new AbVariant(label, properties(label, part.substring(eq + 1))));
        }
        if (variants.size() < 2 || variants.size() > MAX_VARIANTS) {
            throw new IllegalArgumentException("--ab takes 2 to " + MAX_VARIANTS + " variants (the graph caches hold "
                    + MAX_VARIANTS + " graphs per request shape), got " + variants.size() + " in '" + text + "'");
        }
        return new AbSpec(variants);
    }

    private static Map<String, String> properties(String label, String text) {
        Map<String, String> properties = new LinkedHashMap<>();
        for (String pair : text.split(",")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = eq < 0 ? "" : pair.substring(0, eq).trim();
            String value = eq < 0 ? "" : pair.substring(eq + 1).trim();
            if (name.isEmpty() || value.isEmpty()) {
                throw new IllegalArgumentException("--ab variant '" + label + "': '" + pair + "' is not name=value");
            }
            InProcessProperties.check(name);
            if (properties.put(name, value) != null) {
                throw new IllegalArgumentException("--ab variant '" + label + "' sets " + name + " twice");
            }
        }
        return properties;
    }

    /** The base variant: the first. */
    AbVariant base() {
        return variants.getFirst();
    }

    /**
     * The order of round {@code round}: the variants rotated left by {@code round} places (ABC, BCA,
     * CAB, ABC, ...), so over a multiple of the variant count of rounds every variant runs at every
     * place of a round equally often.
     */
    List<AbVariant> order(int round) {
        int n = variants.size();
        List<AbVariant> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            order.add(variants.get((round + i) % n));
        }
        return order;
    }
}
