package dev.glimpse.vlmruntime.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AbSpecTest {

    private static final String LEAN = "glimpse.cuda.towerLean";
    private static final String PDL = "glimpse.cuda.pdlPrefill";

    @Test
    void parsesLabelsAndTheirPropertiesInOrderWithTheFirstAsBase() {
        AbSpec spec = AbSpec.parse("base=;lean=" + LEAN + "=true;lp=" + LEAN + "=true," + PDL + "=true");
        assertEquals(List.of("base", "lean", "lp"), spec.variants().stream().map(AbVariant::label).toList());
        assertEquals(Map.of(), spec.base().properties());
        assertEquals(Map.of(LEAN, "true"), spec.variants().get(1).properties());
        assertEquals(List.of(LEAN, PDL), List.copyOf(spec.variants().get(2).properties().keySet()));
        assertEquals(LEAN + "=true," + PDL + "=true", spec.variants().get(2).describe());
    }

    @Test
    void roundsRotateTheOrderSoEveryVariantTakesEveryPlace() {
        AbSpec spec = AbSpec.parse("a=;b=" + LEAN + "=true;c=" + PDL + "=true");
        assertEquals(List.of("a", "b", "c"), labels(spec.order(0)));
        assertEquals(List.of("b", "c", "a"), labels(spec.order(1)));
        assertEquals(List.of("c", "a", "b"), labels(spec.order(2)));
        assertEquals(List.of("a", "b", "c"), labels(spec.order(3)));
    }

    @Test
    void refusesAPropertyReadOnceNamingWhyAndTheOneJvmPerVariantAb() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AbSpec.parse("base=;tune=glimpse.cuda.ltTune=false"));
        assertTrue(e.getMessage().contains("glimpse.cuda.ltTune"), e.getMessage());
        assertTrue(e.getMessage().contains("cuBLASLt plan"), e.getMessage());
        assertTrue(e.getMessage().contains("LLAVA_BENCH_AB"), e.getMessage());
    }

    @Test
    void refusesAPropertyWhoseReadsWereNotChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AbSpec.parse("base=;x=glimpse.cuda.somethingNew=1"));
        assertTrue(e.getMessage().contains("not been checked"), e.getMessage());
    }

    @Test
    void refusesFewerThanTwoAndMoreVariantsThanTheGraphCachesHold() {
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base="));
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse(
                "a=;b=" + LEAN + "=true;c=" + PDL + "=true;d=glimpse.cuda.pdl=false;e=glimpse.cuda.towerMlp16=true"));
        assertEquals(AbSpec.MAX_VARIANTS, AbSpec.parse(
                "a=;b=" + LEAN + "=true;c=" + PDL + "=true;d=glimpse.cuda.pdl=false").variants().size());
    }

    @Test
    void refusesMalformedVariants() {
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base;lean=" + LEAN + "=true"));
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base=;base=" + LEAN + "=true"));
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base=;lean=" + LEAN));
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base=;lean=" + LEAN + "="));
        assertThrows(IllegalArgumentException.class, () -> AbSpec.parse("base=;le an=" + LEAN + "=true"));
        assertThrows(IllegalArgumentException.class,
                () -> AbSpec.parse("base=;lean=" + LEAN + "=true," + LEAN + "=false"));
    }

    private static List<String> labels(List<AbVariant> variants) {
        return variants.stream().map(AbVariant::label).toList();
    }
}
