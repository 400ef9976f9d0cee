package dev.glimpse.vlmruntime.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The samples of one stage of an in-process A/B: per variant and metric one value per round, so
 * that each variant's round {@code r} pairs with the base's round {@code r} ({@link PairedStats}).
 */
final class AbSamples {

    private final AbSpec spec;
    private final int rounds;
    private final Map<String, Map<String, double[]>> byVariant = new HashMap<>();
    private final Set<String> metrics = new LinkedHashSet<>();

    AbSamples(AbSpec spec, int rounds) {
        this.spec = spec;
        this.rounds = rounds;
        for (AbVariant v : spec.variants()) {
            byVariant.put(v.label(), new HashMap<>());
        }
    }

    /** Records {@code variant}'s {@code values} (metric to value) of round {@code round}. */
    void add(AbVariant variant, int round, Map<String, Double> values) {
        Map<String, double[]> series = byVariant.get(variant.label());
        if (series == null || round < 0 || round >= rounds) {
            throw new IllegalArgumentException("no slot for variant " + variant.label() + " in round " + round);
        }
        values.forEach((metric, value) -> {
            metrics.add(metric);
            series.computeIfAbsent(metric, m -> filled())[round] = value;
        });
    }

    /** The metrics recorded, in the order first seen. */
    List<String> metrics() {
        return new ArrayList<>(metrics);
    }

    /**
     * {@code variant}'s statistics of {@code metric} against the base's.
     *
     * @throws IllegalStateException when a round lacks the metric for the variant or the base
     */
    PairedStats stats(AbVariant variant, String metric) {
        return PairedStats.of(series(variant, metric), series(spec.base(), metric));
    }

    private double[] series(AbVariant variant, String metric) {
        double[] values = byVariant.get(variant.label()).get(metric);
        if (values == null || Arrays.stream(values).anyMatch(Double::isNaN)) {
            throw new IllegalStateException("variant " + variant.label() + " lacks " + metric + " in some of the "
                    + rounds + " rounds");
        }
        return values;
    }

    private double[] filled() {
        double[] values = new double[rounds];
        Arrays.fill(values, Double.NaN);
        return values;
    }
}
