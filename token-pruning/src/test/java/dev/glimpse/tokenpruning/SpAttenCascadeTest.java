package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static dev.glimpse.tokenpruning.DecoderFixtures.columns;
import static dev.glimpse.tokenpruning.DecoderFixtures.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpAttenCascadeTest {

    private final CpuBackend backend = new CpuBackend();
    private final List<TokenSelection> image = List.of(TokenSelection.all(0, new TokenGrid(1, 4)));

    private static SpAttenCascade tokens(Map<Integer, Double> schedule) {
        return new SpAttenCascade(new TreeMap<>(schedule), new TreeMap<>());
    }

    @Test
    void importanceAccumulatesColumnSumsOverHeadsAndLayers() {
        DecoderPruningSession s = tokens(Map.of(0, 0.75, 1, 0.5)).start(image);
        // layer 0: sums over heads (2, 2, 4, 4); keep 3 of 4: tokens 2, 3 and, on the tie, 0
        assertArrayEquals(new int[] {0, 2, 3},
                s.afterLayer(backend, columns(0, new float[][] {{1, 2, 3, 0}, {1, 0, 1, 4}})));
        // layer 1 over tokens (0, 2, 3): importance (2, 4, 4) + (3, 1, 0) = (5, 5, 4); keep 2 -> tokens 0, 2
        assertArrayEquals(new int[] {0, 1}, s.afterLayer(backend, columns(1, new float[][] {{3, 0, 0}, {0, 1, 0}})));
        assertEquals(List.of(new TokenOrigin(0, 0, 0), new TokenOrigin(0, 0, 2)), s.origins());
        assertArrayEquals(new int[] {4, 3, 2, 2}, s.visualTokensPerLayer(4));
    }

    @Test
    void layersBetweenCutsAccumulateWithoutPruning() {
        DecoderPruningSession s = tokens(Map.of(1, 0.5)).start(image);
        assertTrue(s.before(0).orElseThrow().columnSums());
        assertArrayEquals(new int[] {0, 1, 2, 3}, s.afterLayer(backend, columns(0, new float[][] {{9, 0, 0, 0}})));
        // layer 1 alone would keep 2 and 3; with layer 0 it keeps 0 and 3
        assertArrayEquals(new int[] {0, 3}, s.afterLayer(backend, columns(1, new float[][] {{0, 1, 2, 3}})));
        assertTrue(s.before(2).isEmpty());
    }

    @Test
    void aPrunedTokenNeverReturns() {
        SplittableRandom random = new SplittableRandom(5);
        List<TokenSelection> frames = List.of(TokenSelection.all(0, new TokenGrid(24, 24)),
                TokenSelection.all(1, new TokenGrid(24, 24)));
        DecoderPruningSession s = tokens(Map.of(1, 0.9, 3, 0.6, 5, 0.6, 9, 0.2)).start(frames);
        Set<TokenOrigin> previous = new HashSet<>(s.origins());
        for (int layer = 0; layer < 12; layer++) {
            if (s.before(layer).isEmpty()) {
                continue;
            }
            int n = s.visualTokens();
            float[][] sums = new float[4][n];
            for (float[] head : sums) {
                for (int j = 0; j < n; j++) {
                    head[j] = (float) random.nextDouble();
                }
            }
            s.afterLayer(backend, columns(layer, sums));
            Set<TokenOrigin> now = new HashSet<>(s.origins());
            assertTrue(previous.containsAll(now), "layer " + layer + " revived a token");
            previous = now;
        }
        assertEquals(Math.round(0.2 * 1152), s.visualTokens());
    }

    @Test
    void headsAreCutByAccumulatedOutputMagnitudeAndStayCut() {
        SpAttenCascade c = new SpAttenCascade(new TreeMap<>(Map.of(1, 0.5)), new TreeMap<>(Map.of(0, 0.5)));
        DecoderPruningSession s = c.start(image);
        assertTrue(s.before(0).orElseThrow().headOutputL1());
        try (Tensor l1 = Tensor.of(new float[] {1, 4, 2, 3}, 4)) {
            s.afterLayer(backend, new DecoderAttention(0, null, null,
                    rows(new float[][] {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}), l1));
        }
        assertNull(s.headMask(0));
        assertArrayEquals(new boolean[] {false, true, false, true}, s.headMask(1));
        assertArrayEquals(new boolean[] {false, true, false, true}, s.headMask(7));
        // layer 1: only heads 1 and 3 count: head 0 would favour token 0, alive heads favour 1 and 3
        try (Tensor l1 = Tensor.of(new float[] {0, 1, 0, 1}, 4)) {
            int[] keep = s.afterLayer(backend, new DecoderAttention(1, null, null,
                    rows(new float[][] {{50, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 2}}), l1));
            assertArrayEquals(new int[] {1, 3}, keep);
        }
    }

    @Test
    void aPrunedHeadIsNeverRevivedEvenWhenLaterMagnitudesFavourIt() {
        SpAttenCascade c = new SpAttenCascade(new TreeMap<>(), new TreeMap<>(Map.of(0, 0.75, 1, 0.5, 2, 0.25)));
        DecoderPruningSession s = c.start(image);
        float[][] layerL1 = {{1, 4, 2, 3}, {100, 0, 1, 2}, {100, 5, 0, 1}};
        boolean[] previous = {true, true, true, true};
        for (int layer = 0; layer < layerL1.length; layer++) {
            try (Tensor l1 = Tensor.of(layerL1[layer], 4)) {
                s.afterLayer(backend, new DecoderAttention(layer, null, null, null, l1));
            }
            boolean[] mask = s.headMask(layer + 1);
            int on = 0;
            for (int h = 0; h < 4; h++) {
                assertTrue(previous[h] || !mask[h], "head " + h + " revived after layer " + layer);
                on += mask[h] ? 1 : 0;
            }
            assertEquals(3 - layer, on);
            previous = mask;
        }
        // head 0 (cut after layer 0) stays off although it dominates layers 1 and 2
        assertArrayEquals(new boolean[] {false, true, false, false}, s.headMask(9));
    }

    @Test
    void defaultsCutHeadsOnlyAfterLayerSixteen() {
        DecoderPruningSession s = SpAttenCascade.defaults().start(image);
        assertTrue(s.before(16).orElseThrow().headOutputL1());
        assertTrue(s.before(17).isEmpty());
        assertEquals(Map.of(16, 0.875), SpAttenCascade.defaults().headSchedule());
    }

    @Test
    void aGrowingScheduleIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> tokens(Map.of(1, 0.25, 4, 0.5)));
    }
}
