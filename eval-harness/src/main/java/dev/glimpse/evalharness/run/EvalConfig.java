package dev.glimpse.evalharness.run;

import dev.glimpse.queryplanner.QuotaPrune;
import dev.glimpse.tokenpruning.FastVSelector;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.decoder.PositionMode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One pruning configuration of a sweep.
 *
 * @param key       its name in results and tables: {@code none}, {@code vtc-cls@25%}, or a strategy
 *                  that takes no budget alone ({@code spatten}); with a position mode it ends in
 *                  {@code /original} or {@code /contiguous} ({@code vtc-cls@25%/original}); under the
 *                  QuoTA planner {@code quota+bilinear@25%}
 * @param prune     the {@code --prune} spelling
 * @param budget    the {@code --budget} spelling, or null
 * @param plan      the plan it answers with (under QuoTA: once the planner has split the budget)
 * @param positions the {@code --positions} of the kept tokens, or null for each stage's default
 * @param quota     whether the QuoTA planner splits the budget over a clip's frames before the
 *                  answer ({@code --prune quota}, {@link QuotaPrune}), as {@code glimpse ask} does
 */
public record EvalConfig(String key, String prune, String budget, PruningPlan plan, PositionMode positions,
                         boolean quota) {

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

    /** A configuration without the QuoTA planner. */
    public EvalConfig(String key, String prune, String budget, PruningPlan plan, PositionMode positions) {
        this(key, prune, budget, plan, positions, false);
    }

    /** A configuration with each stage's default positions, without the QuoTA planner. */
    public EvalConfig(String key, String prune, String budget, PruningPlan plan) {
        this(key, prune, budget, plan, null);
    }

    /** The unpruned baseline. */
    public static EvalConfig unpruned() {
        return new EvalConfig("none", "none", null, PruningPlan.none());
    }

    /** The {@code --positions} spelling, or "default" for each stage's default. */
    public String positionsKey() {
        return positions == null ? "default" : positions.key();
    }

    /**
     * The sweep: unpruned first, then each strategy at each budget when it takes one (a
     * pre-projector selector, bilinear, FastV, or the QuoTA planner: {@code quota},
     * {@code quota+vtc-cls}), else once. {@code adjust} may replace a plan's stages (e.g.
     * load AS-ViT thresholds). Duplicates are dropped.
     */
    public static List<EvalConfig> sweep(List<String> strategies, List<String> budgets, UnaryOperator<PruningPlan> adjust) {
        return sweep(strategies, budgets, List.of(), adjust);
    }

    /**
     * As {@link #sweep(List, List, UnaryOperator)}, each pruned configuration once per position mode
     * of {@code positions} (the unpruned baseline once: without pruning the modes agree); an empty
     * list runs each stage's default positions.
     */
    public static List<EvalConfig> sweep(List<String> strategies, List<String> budgets, List<PositionMode> positions,
                                         UnaryOperator<PruningPlan> adjust) {
        List<EvalConfig> plain = sweepDefaultPositions(strategies, budgets, adjust);
        if (positions.isEmpty()) {
            return plain;
        }
        LinkedHashSet<EvalConfig> out = new LinkedHashSet<>();
        for (EvalConfig c : plain) {
            if (c.plan().isEmpty()) {
                out.add(c);
                continue;
            }
            for (PositionMode mode : positions) {
                out.add(new EvalConfig(c.key() + "/" + mode.key(), c.prune(), c.budget(), c.plan(), mode, c.quota()));
            }
        }
        return new ArrayList<>(out);
    }

    private static List<EvalConfig> sweepDefaultPositions(List<String> strategies, List<String> budgets,
                                                          UnaryOperator<PruningPlan> adjust) {
        LinkedHashSet<EvalConfig> out = new LinkedHashSet<>();
        out.add(unpruned());
        for (String prune : strategies) {
            String name = prune.strip();
            if (QuotaPrune.named(name)) {
                for (String b : budgets) {
                    PruningPlan plan = adjust.apply(QuotaPrune.plan(name, TokenBudget.parse(b.strip())));
                    String spelled = QuotaPrune.describe(plan);
                    out.add(new EvalConfig(spelled + "@" + b.strip(), spelled, b.strip(), plan, null, true));
                }
                continue;
            }
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
        return plan.frameReduction().isPresent()
                || plan.decoderPruner().filter(FastVSelector.class::isInstance).isPresent();
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
