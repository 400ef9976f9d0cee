package dev.glimpse.queryplanner;

import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QuoTA planner end to end on the demo model and the example clip, and its allocation rule. */
class QuotaPlannerTest {

    static final String QUESTION = "What shape was the orange object?";
    static VisionLanguageModel vlm;
    static QuotaPlan plan;

    @BeforeAll
    static void planTheExampleClip() {
        vlm = Glimpse.load(DemoModel.folder(), LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        plan = new QuotaPlanner(vlm).plan(new Media.VideoFile(DemoModel.clip(), 8), QUESTION, TokenBudget.count(32));
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    @Test
    void budgetsSumToAtMostTheVideoTotal() {
        assertEquals(8 * 32, plan.totalBudget());
        assertEquals(8, plan.budgets().length);
        assertTrue(Arrays.stream(plan.budgets()).sum() <= plan.totalBudget(), plan.toString());
        assertTrue(Arrays.stream(plan.budgets()).sum() >= plan.totalBudget() - 8, plan.toString());
        assertTrue(Arrays.stream(plan.budgets()).allMatch(n -> n <= 196), plan.toString());
    }

    @Test
    void budgetsFollowTheSquaredProbabilities() {
        double[] p = plan.probabilities();
        assertTrue(Arrays.stream(p).allMatch(v -> v >= 0 && v <= 1), plan.toString());
        assertEquals(1.0, Arrays.stream(plan.weights()).sum(), 1e-12);
        assertArrayEquals(QuotaPlanner.allocate(p, plan.totalBudget(), 196), plan.budgets());
    }

    @Test
    void planningTwiceGivesTheSamePlan() {
        QuotaPlan again = new QuotaPlanner(vlm).plan(new Media.VideoFile(DemoModel.clip(), 8), QUESTION, TokenBudget.count(32));
        assertArrayEquals(plan.probabilities(), again.probabilities());
        assertArrayEquals(plan.budgets(), again.budgets());
        assertEquals(plan.objects(), again.objects());
        assertEquals(plan.replies(), again.replies());
    }

    @Test
    void theDecouplersObjectsGoIntoTheScoringPrompt() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> turn.contains("Keep only") ? "['orange diamond']" : "yes");
        QuotaPlan withObjects = new QuotaPlanner(vlm, canned).plan(new Media.VideoFile(DemoModel.clip(), 4), QUESTION,
                TokenBudget.videoTotal(100));
        assertEquals(List.of("orange diamond"), withObjects.objects());
        assertTrue(withObjects.scoringText().startsWith("Does the image contain any object of orange diamond?"),
                withObjects.scoringText());
        assertEquals(100, withObjects.totalBudget());
    }

    @Test
    void framesWithProbabilityNearZeroAreDropped() {
        int[] n = QuotaPlanner.allocate(new double[] {0.9, 1e-4, 0.5}, 100, 196);
        assertArrayEquals(new int[] {76, 0, 23}, n);
    }

    @Test
    void aFrameNeverGetsMoreThanItsOwnTokensAndAFrameOfZeroWeightNone() {
        assertArrayEquals(new int[] {196, 0}, QuotaPlanner.allocate(new double[] {1, 0}, 500, 196));
    }

    @Test
    void whatACapCutsGoesToTheOtherFramesByWeight() {
        // squared scores 8100 : 100 : 1. Pass 1: frame 0 would get floor(500 * 8100 / 8201) = 493, capped
        // at 196; pass 2: 304 left, frame 1 would get floor(304 * 100 / 101) = 300, capped; pass 3: 108 left
        assertArrayEquals(new int[] {196, 196, 108}, QuotaPlanner.allocate(new double[] {0.9, 0.1, 0.01}, 500, 196));
    }

    @Test
    void withoutCapsTheAllocationIsQuotasFloorRule() {
        double[] p = {0.3, 0.2, 0.05, 0.9};
        assertArrayEquals(dev.glimpse.tokenpruning.budget.QuotaAssignment.allocate(p, 200),
                QuotaPlanner.allocate(p, 200, 196));
    }

    @Test
    void aBudgetTooSmallForAnyFrameIsRefused() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> "no");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new QuotaPlanner(vlm, canned)
                .plan(new Media.VideoFile(DemoModel.clip(), 4), QUESTION, TokenBudget.videoTotal(1)));
        assertTrue(e.getMessage().contains("raise --budget"), e.getMessage());
    }
}
