package dev.glimpse.queryplanner;

import dev.glimpse.tokenpruning.BilinearInterpolation;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.NoPruning;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code --prune quota[+stage...]}, as {@code glimpse ask}, {@code explain} and {@code eval synth}
 * spell it: {@value #NAME} names the QuoTA planner, which splits the video's {@code --budget} over
 * its frames; the other names are ordinary pruning stages. Within each frame the share is kept by
 * the pre-projector stage named with it, {@value #DEFAULT_REDUCTION} when none is (QuoTA's default
 * resize, PAPERS.md step 5), or a selector ({@code quota+vtc-cls}, {@code quota+random},
 * {@code quota+uniform}); a decoder stage may follow ({@code quota+fastv}).
 */
public final class QuotaPrune {

    /** The {@code --prune} name of the QuoTA planner. */
    public static final String NAME = "quota";
    /** What keeps each frame's share when no pre-projector stage is named: QuoTA's bilinear resize. */
    public static final String DEFAULT_REDUCTION = new BilinearInterpolation().name();

    private QuotaPrune() {
    }

    /** Whether {@code prune} names {@value #NAME} among its '+'-joined stages. */
    public static boolean named(String prune) {
        return prune != null && Arrays.stream(prune.split("\\+", -1))
                .anyMatch(n -> n.strip().toLowerCase(Locale.ROOT).equals(NAME));
    }

    /**
     * The pruning plan that answers under {@code prune} once the planner has allotted the budget:
     * the stages named with {@value #NAME}, led by {@value #DEFAULT_REDUCTION} when no per-frame
     * stage is named. An IllegalArgumentException with a one-line message when the budget is missing
     * or the pre-projector stage cannot keep a per-frame share ({@code pool}).
     */
    public static PruningPlan plan(String prune, TokenBudget budget) {
        if (budget == null) {
            throw new IllegalArgumentException("--prune quota needs --budget: the tokens per frame before QuoTA "
                    + "redistributes them (e.g. 64), or the video's total (e.g. 1024/video)");
        }
        List<String> kept = new ArrayList<>(Arrays.stream(prune.split("\\+", -1)).map(String::strip)
                .filter(n -> !n.equalsIgnoreCase(NAME)).toList());
        List<PruningStrategy> preProjector = kept.stream().map(PruningStrategy::byName)
                .filter(s -> s.hookPoint() == HookPoint.PRE_PROJECTOR && !(s instanceof NoPruning)).toList();
        if (preProjector.stream().anyMatch(s -> !(s instanceof TokenSelector || s instanceof BilinearInterpolation))) {
            throw new IllegalArgumentException("--prune quota keeps each frame's share with bilinear (the default) or "
                    + "a selector (uniform, vtc-cls or random), not " + preProjector.getFirst().name());
        }
        if (preProjector.isEmpty()) {
            kept.add(0, DEFAULT_REDUCTION);
        }
        return PruningPlan.parse(String.join("+", kept), budget);
    }

    /** The plan's name as {@code --prune} spells it: "quota+" and its stages. */
    public static String describe(PruningPlan plan) {
        return NAME + "+" + plan.describe();
    }
}
