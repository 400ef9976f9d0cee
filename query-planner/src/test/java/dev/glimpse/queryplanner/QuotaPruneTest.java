package dev.glimpse.queryplanner;

import dev.glimpse.tokenpruning.BilinearInterpolation;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --prune quota[+stage]}: which stage keeps each frame's share, and what is refused. */
class QuotaPruneTest {

    @Test
    void quotaAloneResizesEachFrameBilinearly() {
        PruningPlan plan = QuotaPrune.plan("quota", TokenBudget.count(64));
        assertInstanceOf(BilinearInterpolation.class, plan.frameReduction().orElseThrow());
        assertEquals(TokenBudget.count(64), plan.budget());
        assertEquals("quota+bilinear", QuotaPrune.describe(plan));
    }

    @Test
    void aNamedSelectorKeepsTheShareInstead() {
        assertInstanceOf(VtcClsSelector.class, QuotaPrune.plan("quota+vtc-cls", TokenBudget.count(64))
                .frameReduction().orElseThrow());
        assertEquals("bilinear+fastv", QuotaPrune.plan("fastv+quota", TokenBudget.count(64)).describe());
    }

    @Test
    void quotaIsNamedAmongTheStagesOnly() {
        assertTrue(QuotaPrune.named("QUOTA+vtc-cls"));
        assertFalse(QuotaPrune.named("vtc-cls"));
        assertFalse(QuotaPrune.named("quotas"));
    }

    @Test
    void poolingAndAMissingBudgetAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> QuotaPrune.plan("quota+pool", TokenBudget.count(8)))
                .getMessage().contains("keeps each frame's share with bilinear"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> QuotaPrune.plan("quota", null))
                .getMessage().contains("--prune quota needs --budget"));
    }
}
