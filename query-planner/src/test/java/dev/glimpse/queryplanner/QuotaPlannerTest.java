package dev.glimpse.queryplanner;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.budget.QuotaAssignment;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QuoTA planner end to end on the demo model and the example clip, and its allocation rule. */
class QuotaPlannerTest {

    static final String QUESTION = "What shape was the orange object?";
    static VisionLanguageModel vlm;
    static List<RgbImage> frames;
    static QuotaPlan plan;

    @BeforeAll
    static void planTheExampleClip() {
        vlm = Glimpse.load(DemoModel.folder(), LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        frames = vlm.pictures(new Media.VideoFile(DemoModel.clip(), 8));
        plan = new QuotaPlanner(vlm).plan(frames, QUESTION, TokenBudget.count(32), true);
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
        QuotaPlan again = new QuotaPlanner(vlm).plan(frames, QUESTION, TokenBudget.count(32), true);
        assertArrayEquals(plan.probabilities(), again.probabilities());
        assertArrayEquals(plan.budgets(), again.budgets());
        assertEquals(plan.objects(), again.objects());
        assertEquals(plan.replies(), again.replies());
    }

    @Test
    void theDecouplersObjectsGoIntoTheScoringPrompt() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> turn.contains("Keep only") ? "['orange diamond']" : "yes");
        QuotaPlan withObjects = new QuotaPlanner(vlm, canned).plan(frames.subList(0, 4), QUESTION,
                TokenBudget.videoTotal(100), true);
        assertEquals(List.of("orange diamond"), withObjects.objects());
        assertTrue(withObjects.scoringText().startsWith("Does the image contain any object of orange diamond?"),
                withObjects.scoringText());
        assertEquals(100, withObjects.totalBudget());
    }

    @Test
    void forTheBilinearResizeSharesAreUncappedFloorsOfNTimesTheWeights() {
        QuotaPlan uncapped = new QuotaPlanner(vlm).plan(frames, QUESTION, TokenBudget.count(32), false);
        assertArrayEquals(plan.probabilities(), uncapped.probabilities());
        assertArrayEquals(QuotaAssignment.allocate(uncapped.probabilities(), 8 * 32), uncapped.budgets());
        assertFalse(uncapped.capped());
        assertTrue(plan.capped());
    }

    @Test
    void prepareScoresTheFramesItHandsToTheAnswerWithTheirBudgets() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> "no");
        Media.VideoFrames given = new Media.VideoFrames(frames.subList(0, 4));
        AskOptions options = AskOptions.defaults().withPruning(QuotaPrune.plan("quota", TokenBudget.count(16)));
        PlannedAsk planned = new QuotaPlanner(vlm, canned).prepare(given, QUESTION, options);
        assertEquals(4, planned.video().frames().size());
        for (int t = 0; t < 4; t++) {
            assertSame(given.frames().get(t), planned.video().frames().get(t), "frame " + t + " was decoded again");
        }
        assertArrayEquals(planned.plan().budgets(), planned.options().frameBudgets().orElseThrow().tokens());
        assertEquals("bilinear", planned.options().pruning().describe());
        assertFalse(planned.plan().capped());
    }

    @Test
    void prepareWithASelectorCapsEachFrameAtItsTokens() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> "no");
        AskOptions options = AskOptions.defaults().withPruning(QuotaPrune.plan("quota+vtc-cls", TokenBudget.count(16)));
        PlannedAsk planned = new QuotaPlanner(vlm, canned).prepare(new Media.VideoFrames(frames.subList(0, 2)), QUESTION,
                options);
        assertTrue(planned.plan().capped());
        assertEquals("vtc-cls", planned.options().pruning().describe());
    }

    @Test
    void prepareOnAnImageIsRefused() {
        AskOptions options = AskOptions.defaults().withPruning(QuotaPrune.plan("quota", TokenBudget.count(16)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuotaPlanner(vlm).prepare(Media.image(frames.getFirst()), QUESTION, options));
        assertTrue(e.getMessage().contains("plans the frames of a video"), e.getMessage());
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
        assertArrayEquals(QuotaAssignment.allocate(p, 200),
                QuotaPlanner.allocate(p, 200, 196));
    }

    @Test
    void aBudgetTooSmallForAnyFrameIsRefused() {
        QueryDecoupler canned = new QueryDecoupler((turn, n) -> "no");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new QuotaPlanner(vlm, canned)
                .plan(frames.subList(0, 4), QUESTION, TokenBudget.videoTotal(1), true));
        assertTrue(e.getMessage().contains("raise --budget"), e.getMessage());
    }
}
