package dev.glimpse.tokenpruning;

import dev.glimpse.tokenpruning.budget.TokenBudget;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PruningPlanTest {

    @Test
    void everyNameSelectsItsStrategy() {
        for (String name : PruningStrategy.NAMES) {
            assertEquals(name, PruningStrategy.byName(name).name());
        }
    }

    @Test
    void anUnknownNameListsTheAcceptedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PruningStrategy.byName("fastvv"));
        assertTrue(e.getMessage().startsWith("--prune") && e.getMessage().contains("vtc-cls, fastv"), e.getMessage());
    }

    @Test
    void stagesComposeInModelOrder() {
        PruningPlan plan = PruningPlan.parse("spatten+vtc-cls", TokenBudget.parse("25%"));
        assertEquals("vtc-cls+spatten", plan.describe());
        assertInstanceOf(VtcClsSelector.class, plan.selector().orElseThrow());
        assertInstanceOf(SpAttenCascade.class, plan.decoderPruner().orElseThrow());
        assertTrue(plan.visionPolicy().isEmpty());
    }

    @Test
    void twoStrategiesAtOneHookPointAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PruningPlan.parse("fastv+spatten", null));
        assertThrows(IllegalArgumentException.class, () -> PruningPlan.parse("uniform+vtc-cls", null));
    }

    @Test
    void noneIsTheEmptyPlan() {
        assertTrue(PruningPlan.parse("none", TokenBudget.count(64)).isEmpty());
        assertEquals("none", PruningPlan.none().describe());
    }

    @Test
    void theBudgetGoesToFastVWhenNoSelectorTakesIt() {
        FastVSelector f = (FastVSelector) PruningPlan.parse("fastv", TokenBudget.count(64)).decoderPruner().orElseThrow();
        assertEquals(TokenBudget.count(64), f.keep());
        FastVSelector g = (FastVSelector) PruningPlan.parse("vtc-cls+fastv", TokenBudget.count(64)).decoderPruner()
                .orElseThrow();
        assertEquals(TokenBudget.ratio(0.5), g.keep());
    }

    @Test
    void hookPointsAreDeclared() {
        assertEquals(List.of(HookPoint.VISION_BLOCK, HookPoint.PRE_PROJECTOR, HookPoint.DECODER_LAYER),
                PruningPlan.parse("atp+as-vit+pool", null).stages().stream().map(PruningStrategy::hookPoint).toList());
    }
}
