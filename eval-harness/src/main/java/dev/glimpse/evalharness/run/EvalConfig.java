package dev.glimpse.evalharness.run;

import dev.glimpse.tokenpruning.FastVSelector;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One pruning configuration of a sweep.
 *
 * @param key    its name in results and tables: {@code none}, {@code vtc-cls@25%}, or a strategy
 *               that takes no budget alone ({@code spatten})
 * @param prune  the {@code --prune} spelling
 * @param budget the {@code --budget} spelling, or null
 * @param plan   the plan it runs
 */
public record EvalConfig(String key, String prune, String budget, PruningPlan plan) {

    /** The budgets swept when none are given. */
    public static final List<String> DEFAULT_BUDGETS = List.of("100%", "50%", "25%", "11%");
    /** The strategies swept when none are given (as-vit needs model-specific thresholds). */
    public static final List<String> DEFAULT_STRATEGIES = List.of("random", "uniform", "pool", "vtc-cls", "fastv",
            "spatten", "atp");

    public EvalConfig {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(prune, "prune");
        Objects.requireNonNull(plan, "plan");
    }

    /** The unpruned baseline. */
    public static EvalConfig unpruned() {
        return new EvalConfig("none", "none", null, PruningPlan.none());
    }

    /**
     * The sweep: unpruned first, then each strategy at each budget when it takes one (a
     * pre-projector selector or FastV), else once. {@code adjust} may replace a plan's stages (e.g.
     * load AS-ViT thresholds). Duplicates are dropped.
     */
    public static List<EvalConfig> sweep(List<String> strategies, List<String> budgets, UnaryOperator<PruningPlan> adjust) {
        LinkedHashSet<EvalConfig> out = new LinkedHashSet<>();
        out.add(unpruned());
        for (String prune : strategies) {
            String name = prune.strip();
            PruningPlan probe = adjust.apply(PruningPlan.parse(name, null));
            if (probe.isEmpty()) {
                continue;
            }
            if (takesBudget(probe)) {
                for (String b : budgets) {
                    PruningPlan plan = adjust.apply(PruningPlan.parse(name, TokenBudget.parse(b.strip())));
                    out.add(new EvalConfig(plan.describe() + "@" + b.strip(), plan.describe(), b.strip(), plan));
                }
            } else {
                out.add(new EvalConfig(probe.describe(), probe.describe(), null, probe));
            }
        }
        return new ArrayList<>(out);
    }

    /** Whether {@code plan} has a stage that takes {@code --budget}. */
    static boolean takesBudget(PruningPlan plan) {
        return plan.selector().isPresent() || plan.decoderPruner().filter(FastVSelector.class::isInstance).isPresent();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EvalConfig c && c.key.equals(key);
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }
}
