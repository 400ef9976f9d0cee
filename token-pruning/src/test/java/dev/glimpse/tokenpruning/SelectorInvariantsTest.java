package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guarantees every pre-projector selector gives (TokenSelector's javadoc). */
class SelectorInvariantsTest {

    private static final TokenGrid GRID = new TokenGrid(24, 24);
    private static final int[] BUDGETS = {1, 7, 64, 144, 575, 576, 1000};

    private final CpuBackend backend = new CpuBackend();
    private final List<Tensor> owned = new ArrayList<>();

    @AfterEach
    void close() {
        owned.forEach(Tensor::close);
    }

    private List<TokenSelector> selectors() {
        return List.of(new NoPruning(), new RandomSelector(7), new UniformSelector(), VtcClsSelector.defaults());
    }

    private VisualFrame frame(int index) {
        SplittableRandom random = new SplittableRandom(index);
        TreeMap<Integer, Tensor> rows = new TreeMap<>();
        for (int l = 16; l <= 22; l++) {
            float[] values = new float[16 * 577];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextDouble();
            }
            Tensor t = Tensor.of(values, 16, 577);
            owned.add(t);
            rows.put(l, t);
        }
        return new VisualFrame(index, GRID, VisionAttention.ofClsRows(24, rows));
    }

    @Test
    void exactlyTheBudgetIsKeptUnlessFewerTokensExist() {
        VisualFrame f = frame(0);
        for (TokenSelector s : selectors()) {
            for (int u : BUDGETS) {
                int expected = s instanceof NoPruning ? 576 : Math.min(u, 576);
                assertEquals(expected, s.select(backend, f, u).count(), s.name() + " at " + u);
            }
        }
    }

    @Test
    void keptTokensAreInRasterOrder() {
        VisualFrame f = frame(1);
        for (TokenSelector s : selectors()) {
            for (int u : BUDGETS) {
                int[] kept = s.select(backend, f, u).kept();
                for (int i = 1; i < kept.length; i++) {
                    assertTrue(kept[i] > kept[i - 1], s.name() + " at " + u);
                }
            }
        }
    }

    @Test
    void aBudgetOfAtLeastAllTokensIsTheIdentity() {
        VisualFrame f = frame(2);
        int[] all = IntStream.range(0, 576).toArray();
        for (TokenSelector s : selectors()) {
            for (int u : new int[] {576, 577, 100_000}) {
                TokenSelection sel = s.select(backend, f, u);
                assertArrayEquals(all, sel.kept(), s.name());
                assertTrue(sel.keepsAll());
            }
        }
    }

    @Test
    void selectionsAreDeterministic() {
        VisualFrame f = frame(3);
        for (TokenSelector s : selectors()) {
            assertEquals(s.select(backend, f, 64), s.select(backend, f, 64), s.name());
        }
    }

    @Test
    void randomDependsOnSeedAndFrame() {
        VisualFrame f0 = VisualFrame.of(0, GRID);
        VisualFrame f1 = VisualFrame.of(1, GRID);
        int[] a = new RandomSelector(1).select(backend, f0, 64).kept();
        assertArrayEquals(a, new RandomSelector(1).select(backend, f0, 64).kept());
        assertFalse(java.util.Arrays.equals(a, new RandomSelector(2).select(backend, f0, 64).kept()));
        assertFalse(java.util.Arrays.equals(a, new RandomSelector(1).select(backend, f1, 64).kept()));
    }

    @Test
    void uniformKeepsTheStrideTwoLatticeAt144Of576() {
        int[] kept = UniformSelector.sample(GRID, 144);
        int i = 0;
        for (int r = 1; r < 24; r += 2) {
            for (int c = 1; c < 24; c += 2) {
                assertEquals(r * 24 + c, kept[i++]);
            }
        }
    }

    @Test
    void uniformKeepsTheStrideThreeLatticeAt64Of576() {
        int[] kept = UniformSelector.sample(GRID, 64);
        int i = 0;
        for (int r = 1; r < 24; r += 3) {
            for (int c = 1; c < 24; c += 3) {
                assertEquals(r * 24 + c, kept[i++]);
            }
        }
    }

    @Test
    void uniformSpreadsAnUnevenBudgetOverCentredRows() {
        // 5 of 3 x 3: h = 2 rows (0 and 2); row 0 takes 3 (cols 0, 1, 2), row 2 takes 2 (cols 0, 2)
        assertArrayEquals(new int[] {0, 1, 2, 6, 8}, UniformSelector.sample(new TokenGrid(3, 3), 5));
    }

    @Test
    void equalScoresKeepTheLowerIndex() {
        float[] scores = {1, 2, 2, 2, 0};
        assertArrayEquals(new int[] {1, 2}, TopKSelection.topIndices(backend, scores, 2));
    }

    @Test
    void originsFollowFromTheGrid() {
        TokenSelection s = new TokenSelection(3, new TokenGrid(2, 3), new int[] {1, 5}, null);
        assertEquals(List.of(new TokenOrigin(3, 0, 1), new TokenOrigin(3, 1, 2)), s.origins());
    }

    @Test
    void selectAllLeavesOutFramesWithoutBudget() {
        List<VisualFrame> frames = List.of(VisualFrame.of(0, GRID), VisualFrame.of(1, GRID), VisualFrame.of(2, GRID));
        List<TokenSelection> out = new UniformSelector().selectAll(backend, frames,
                dev.glimpse.tokenpruning.budget.FrameBudgets.of(10, 0, 20));
        assertEquals(2, out.size());
        assertEquals(10, out.get(0).count());
        assertEquals(2, out.get(1).frame());
    }
}
