package dev.glimpse.tokenpruning;

import dev.glimpse.tokenpruning.budget.TokenBudget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** {@code bilinear}: QuoTA's target grid per budget and the source cell each resized cell stands for. */
class BilinearInterpolationTest {

    @Test
    void aFrameIsResizedToQuotasNearSquareGrid() {
        assertEquals(new TokenGrid(7, 7), BilinearInterpolation.grid(50));
        assertEquals(new TokenGrid(8, 7), BilinearInterpolation.grid(56));
        assertEquals(new TokenGrid(14, 14), BilinearInterpolation.grid(196));
        assertEquals(new TokenGrid(17, 16), BilinearInterpolation.grid(280));
    }

    @Test
    void eachResizedCellTakesTheSourceCellUnderItsCentre() {
        // 4 -> 2 per axis: centres at source 1.0 and 3.0 -> cells 1 and 3
        assertArrayEquals(new int[] {5, 7, 13, 15}, BilinearInterpolation.origins(new TokenGrid(4, 4), new TokenGrid(2, 2)));
        // 3 -> 2 rows (centres 0.75, 2.25 -> rows 0, 2), 3 -> 3 columns (identity)
        assertArrayEquals(new int[] {0, 1, 2, 6, 7, 8}, BilinearInterpolation.origins(new TokenGrid(3, 3), new TokenGrid(2, 3)));
    }

    @Test
    void cellsOfAGridResizedUpShareTheSourceCellTheyLieIn() {
        // 2 -> 3 columns: centres at source 1/3, 1, 5/3 -> columns 0, 1, 1
        assertArrayEquals(new int[] {0, 1, 1, 2, 3, 3}, BilinearInterpolation.origins(new TokenGrid(2, 2), new TokenGrid(2, 3)));
    }

    @Test
    void itTakesTheBudgetBeforeFastV() {
        PruningPlan plan = PruningPlan.parse("bilinear+fastv", TokenBudget.count(64));
        assertInstanceOf(BilinearInterpolation.class, plan.frameReduction().orElseThrow());
        assertEquals(TokenBudget.ratio(0.5), ((FastVSelector) plan.decoderPruner().orElseThrow()).keep());
        assertEquals("bilinear+fastv", plan.describe());
    }
}
