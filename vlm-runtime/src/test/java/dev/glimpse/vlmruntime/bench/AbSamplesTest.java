package dev.glimpse.vlmruntime.bench;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AbSamplesTest {

    private final AbSpec spec = AbSpec.parse("base=;lean=glimpse.cuda.towerLean=true");
    private final AbVariant base = spec.variants().get(0);
    private final AbVariant lean = spec.variants().get(1);

    @Test
    void pairsEachVariantsRoundWithTheBasesSameRound() {
        AbSamples samples = new AbSamples(spec, 2);
        samples.add(base, 0, metrics(10, 1));
        samples.add(lean, 0, metrics(8, 1));
        samples.add(lean, 1, metrics(16, 2));
        samples.add(base, 1, metrics(20, 2));
        assertEquals(List.of("ttft_ms", "prefill_ms"), samples.metrics());
        assertEquals(0.8, samples.stats(lean, "ttft_ms").ratioMedian(), 1e-12);
        assertEquals(1.0, samples.stats(lean, "prefill_ms").ratioMedian(), 1e-12);
        assertEquals(12, samples.stats(lean, "ttft_ms").median(), 1e-12);
    }

    @Test
    void aRoundWithoutTheMetricIsAnError() {
        AbSamples samples = new AbSamples(spec, 2);
        samples.add(base, 0, metrics(10, 1));
        samples.add(base, 1, metrics(10, 1));
        samples.add(lean, 0, metrics(8, 1));
        assertThrows(IllegalStateException.class, () -> samples.stats(lean, "ttft_ms"));
    }

    @Test
    void aRoundOutsideTheRunIsAnError() {
        AbSamples samples = new AbSamples(spec, 2);
        assertThrows(IllegalArgumentException.class, () -> samples.add(base, 2, metrics(1, 1)));
    }

    private static Map<String, Double> metrics(double ttft, double prefill) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("ttft_ms", ttft);
        m.put("prefill_ms", prefill);
        return m;
    }
}
