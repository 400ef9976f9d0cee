package dev.glimpse.tokenpruning.budget;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenBudgetTest {

    @Test
    void aPlainNumberIsACountPerImageOrFrame() {
        assertEquals(new TokenBudget.Count(64), TokenBudget.parse("64"));
        assertEquals(new TokenBudget.Count(64), TokenBudget.parse(" 64 "));
    }

    @Test
    void aPercentageIsARatioOfEachFramesTokens() {
        assertEquals(new TokenBudget.Ratio(0.25), TokenBudget.parse("25%"));
        assertEquals(144, TokenBudget.parse("25%").tokensFor(576));
        assertEquals(72, TokenBudget.parse("12.5%").tokensFor(576));
        assertEquals(576, TokenBudget.parse("100%").tokensFor(576));
    }

    @Test
    void aRatioRoundsHalfUpAndKeepsAtLeastOneToken() {
        assertEquals(3, TokenBudget.ratio(0.5).tokensFor(5));
        assertEquals(1, TokenBudget.ratio(0.01).tokensFor(10));
        assertEquals(0, TokenBudget.ratio(0.5).tokensFor(0));
    }

    @Test
    void aSlashVideoSuffixIsATotalForTheVideo() {
        assertEquals(new TokenBudget.VideoTotal(12544), TokenBudget.parse("12544/video"));
        assertEquals(new TokenBudget.VideoTotal(12544), TokenBudget.parse("12544 /video"));
    }

    @Test
    void aCountNeverExceedsWhatTheFrameHas() {
        assertEquals(576, TokenBudget.count(1000).tokensFor(576));
        assertEquals(64, TokenBudget.count(64).tokensFor(576));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  ", "abc", "0", "-5", "0%", "150%", "-1%", "12x", "64/frame", "1e3", "/video", "0/video",
            "99999999999", "%", "NaN%"})
    void badBudgetsNameTheFlagAndTheAcceptedForms(String text) {
        InvalidBudgetException e = assertThrows(InvalidBudgetException.class, () -> TokenBudget.parse(text));
        assertTrue(e.getMessage().startsWith("--budget"), e.getMessage());
        assertTrue(e.getMessage().contains("64") && e.getMessage().contains("25%") && e.getMessage().contains("/video"),
                e.getMessage());
    }

    @Test
    void aVideoTotalSplitsEvenlyWithTheRemainderToTheFirstFrames() {
        FrameBudgets b = TokenBudget.videoTotal(10).perFrame(new int[] {196, 196, 196, 196});
        assertArrayEquals(new int[] {3, 3, 2, 2}, b.tokens());
        assertEquals(10, b.total());
    }

    @Test
    void anEvenSplitIsCappedAtEachFramesTokens() {
        assertArrayEquals(new int[] {4, 50}, TokenBudget.videoTotal(100).perFrame(new int[] {4, 196}).tokens());
    }

    @Test
    void aVideoTotalSplitsByWeightsWithFloorAndDropsZeroFrames() {
        FrameBudgets b = ((TokenBudget.VideoTotal) TokenBudget.videoTotal(100))
                .perFrame(new int[] {196, 196, 196}, new double[] {3, 0, 1});
        assertArrayEquals(new int[] {75, 0, 25}, b.tokens());
        assertArrayEquals(new int[] {1}, b.droppedFrames());
        assertArrayEquals(new int[] {0, 2}, b.keptFrames());
    }

    @Test
    void perFrameCountsApplyToEveryFrame() {
        assertArrayEquals(new int[] {64, 10}, TokenBudget.count(64).perFrame(new int[] {576, 10}).tokens());
    }
}
