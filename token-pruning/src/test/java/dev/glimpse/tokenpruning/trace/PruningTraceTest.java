package dev.glimpse.tokenpruning.trace;

import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PruningTraceTest {

    private static PruningTrace sample() {
        TokenGrid grid = new TokenGrid(2, 3);
        TokenSelection a = new TokenSelection(0, grid, new int[] {1, 5}, new float[] {0.1f, 0.9f, 0.2f, 0.3f, Float.NaN, 0.8f});
        TokenSelection b = new TokenSelection(2, grid, new int[] {0}, null);
        PruningTrace.Stage pre = PruningTrace.Stage.of("vtc-cls", "vtc-cls", HookPoint.PRE_PROJECTOR, null,
                List.of(a, b), new int[] {2, 1}).withFrameScores(new double[] {0.9, 0.1, 0.5});
        PruningTrace.Stage dec = PruningTrace.Stage.of("fastv@layer1", "fastv", HookPoint.DECODER_LAYER, 1,
                List.of(a), null).withBudget(2);
        return PruningTrace.empty().with(pre).with(dec);
    }

    @Test
    void jsonRoundTripsToAnEqualTrace() {
        PruningTrace t = sample();
        assertEquals(t, PruningTrace.fromJson(t.toJson()));
    }

    @Test
    void keptCellsAreRowColumnPairsAndUnscoredTokensAreNull() {
        String json = sample().toJson();
        assertTrue(json.contains("\"kept\":[[0,1],[1,2]]"), json);
        assertTrue(json.contains("\"scores\":[0.1,0.9,0.2,0.3,null,0.8]"), json);
        assertTrue(json.contains("\"hookPoint\":\"PRE_PROJECTOR\""), json);
        assertTrue(json.contains("\"frameScores\":[0.9,0.1,0.5]"), json);
    }

    @Test
    void notATraceIsAClearError() {
        assertThrows(IllegalArgumentException.class, () -> PruningTrace.fromJson("{\"stages\": 3}"));
    }
}
