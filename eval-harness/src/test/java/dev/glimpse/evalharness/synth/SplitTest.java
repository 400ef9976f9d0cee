package dev.glimpse.evalharness.synth;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Splits are disjoint seed ranges. */
class SplitTest {

    @Test
    void seedRangesAreDisjoint() {
        for (Split a : Split.values()) {
            for (Split b : Split.values()) {
                if (a != b) {
                    assertFalse(b.contains(a.firstSeed()) || b.contains(a.seed(a.size() - 1)), a + " vs " + b);
                    assertFalse(a.firstSeed() < b.firstSeed() && a.firstSeed() + a.size() > b.firstSeed());
                }
            }
        }
    }

    @Test
    void benchmarkItemsComeFromTheirSplit() {
        SynthBenchmark bench = SynthBenchmark.standard();
        assertTrue(Split.TEST.contains(bench.scene(Split.TEST, 0).scene().seed()));
        assertTrue(Split.VALIDATION.contains(bench.clip(Split.VALIDATION, 3).clip().seed()));
        assertEquals("s20000005", bench.scene(Split.TEST, 5).id());
    }

    @Test
    void indexOutsideTheSplitIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Split.TEST.seed(Split.TEST.size()));
        assertThrows(IllegalArgumentException.class, () -> Split.ofKey("dev"));
    }

    @Test
    void questionLimitCutsEachKind() {
        var items = SynthBenchmark.standard().evaluationItems(Split.TEST, MediaKind.ALL, 7);
        long images = items.stream().filter(i -> i instanceof SynthItem.SceneItem).mapToLong(i -> i.questions().size()).sum();
        long clips = items.stream().filter(i -> i instanceof SynthItem.ClipItem).mapToLong(i -> i.questions().size()).sum();
        assertEquals(7, images);
        assertEquals(7, clips);
    }
}
