package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.glimpse.tokenpruning.DecoderFixtures.lastRow;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastVSelectorTest {

    private final CpuBackend backend = new CpuBackend();
    private final List<TokenSelection> image = List.of(TokenSelection.all(0, new TokenGrid(2, 2)));

    @Test
    void scoreIsTheHeadMeanOfTheLastTokensRow() {
        float[][] row = {{0.1f, 0.4f, 0.2f, 0.3f}, {0.3f, 0.0f, 0.4f, 0.3f}};
        assertArrayEquals(new float[] {0.2f, 0.2f, 0.3f, 0.3f}, FastVSelector.scores(row), 1e-6f);
    }

    @Test
    void layerKReadsTheAttentionOfLayerKMinusOne() {
        DecoderPruningSession s = FastVSelector.withRatio(2, 0.5).start(image);
        assertTrue(s.before(0).isEmpty());
        assertEquals(AttentionNeeds.lastRow(), s.before(1).orElseThrow());
        assertTrue(s.before(2).isEmpty());
    }

    @Test
    void keepsRoundNTimesOneMinusRByScoreInPromptOrder() {
        DecoderPruningSession s = FastVSelector.withRatio(2, 0.5).start(image);
        int[] keep = s.afterLayer(backend, lastRow(1, new float[][] {{0.1f, 0.4f, 0.2f, 0.3f}, {0.3f, 0.0f, 0.4f, 0.3f}}));
        assertArrayEquals(new int[] {2, 3}, keep);
        assertEquals(List.of(new TokenOrigin(0, 1, 0), new TokenOrigin(0, 1, 1)), s.origins());
        assertArrayEquals(new int[] {4, 4, 2, 2}, s.visualTokensPerLayer(4));
    }

    @Test
    void traceRecordsTheLayerTheBudgetAndTheSurvivors() {
        DecoderPruningSession s = FastVSelector.withRatio(2, 0.75).start(image);
        s.afterLayer(backend, lastRow(1, new float[][] {{0.1f, 0.6f, 0.2f, 0.1f}}));
        PruningTrace.Stage stage = s.traceStages().getFirst();
        assertEquals(1, stage.layer());
        assertEquals(1, stage.budget());
        assertEquals(List.of(new PruningTrace.Cell(0, 1)), stage.frames().getFirst().kept());
        assertEquals(List.of(0.1f, 0.6f, 0.2f, 0.1f), stage.frames().getFirst().scores());
    }

    @Test
    void keepingEveryTokenReturnsAllPositionsInOrder() {
        DecoderPruningSession s = new FastVSelector(2, TokenBudget.count(1000)).start(image);
        assertArrayEquals(new int[] {0, 1, 2, 3},
                s.afterLayer(backend, lastRow(1, new float[][] {{0.4f, 0.3f, 0.2f, 0.1f}})));
    }
}
