package dev.glimpse.app;

import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitThresholds;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.NoPruning;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The pruning flags {@code glimpse ask} and {@code glimpse explain} share: {@code --prune},
 * {@code --budget} and {@code --as-vit-thresholds}, turned into a {@link PruningPlan}, and
 * {@code --positions}, the {@link PositionMode} of the tokens it keeps. AS-ViT's
 * thresholds are model-specific, so {@code as-vit} without a thresholds file is an error rather
 * than DeiT-S's initial values.
 */
final class PruningOptions {

    /** The {@code --prune} name of the QuoTA query planner. */
    static final String QUOTA = "quota";
    /** What keeps each frame's share under {@code --prune quota} when no selector is named: a linspace grid subsample. */
    static final String QUOTA_DEFAULT_SELECTOR = "uniform";

    @Option(names = "--prune", defaultValue = "none", paramLabel = "M[+M2]",
            description = "Visual-token pruning: none, random, uniform, pool, vtc-cls (before the projector), "
                    + "as-vit (inside the vision tower), fastv, spatten, atp (inside the decoder); combine stages "
                    + "at different points with '+', e.g. vtc-cls+spatten. quota (ask --video): the QuoTA planner "
                    + "splits the video's --budget over its frames by query relevance, each frame then keeping its "
                    + "share with uniform (or the selector given with it, e.g. quota+vtc-cls). "
                    + "Default: ${DEFAULT-VALUE}.")
    String prune;

    @Option(names = "--budget", paramLabel = "B",
            description = "Tokens to keep per image or frame (64), a share of them (25%), or a video total (12544/video). "
                    + "Taken by vtc-cls, random, uniform, else by fastv; with quota, a per-frame baseline (the "
                    + "video's total is that times --frames) or the total itself.")
    String budget;

    @Option(names = "--as-vit-thresholds", paramLabel = "FILE",
            description = "AS-ViT stage blocks and thresholds, {\"blocks\":[..],\"thresholds\":[..]} (required by as-vit).")
    Path asVitThresholds;

    @Option(names = "--positions", paramLabel = "P",
            description = "Rotary positions of the visual tokens pruning keeps: original (their positions in the "
                    + "unpruned prompt, gaps where pruned tokens were) or contiguous (re-indexed without gaps). "
                    + "Default: contiguous before the LLM (vtc-cls, random, uniform, pool, as-vit), original inside "
                    + "the decoder (fastv, spatten, atp).")
    String positions;

    /** {@code options} with this request's plan and, when {@code --positions} is given, its position mode. */
    AskOptions applyTo(AskOptions options) {
        AskOptions planned = options.withPruning(plan());
        return positions == null ? planned : planned.withPositions(PositionMode.parse(positions));
    }

    /** Whether {@code --prune} names {@value #QUOTA}: the QuoTA planner allots the budget per frame. */
    boolean quota() {
        return Arrays.stream(prune.split("\\+", -1)).anyMatch(n -> n.strip().equalsIgnoreCase(QUOTA));
    }

    /** The parsed {@code --budget}, or null when none was given. */
    TokenBudget budget() {
        return budget == null ? null : TokenBudget.parse(budget);
    }

    /**
     * The plan these flags ask for; an IllegalArgumentException with a one-line message when they are wrong.
     * With {@value #QUOTA}, the stages given with it and a pre-projector selector to keep each frame's
     * share ({@code uniform} unless one is named): the planner's allocation replaces the budget split.
     */
    PruningPlan plan() {
        TokenBudget parsed = budget();
        String names = prune;
        if (quota()) {
            if (parsed == null) {
                throw new IllegalArgumentException("--prune quota needs --budget: the tokens per frame before QuoTA "
                        + "redistributes them (e.g. 64), or the video's total (e.g. 1024/video)");
            }
            List<String> kept = new ArrayList<>(Arrays.stream(prune.split("\\+", -1)).map(String::strip)
                    .filter(n -> !n.equalsIgnoreCase(QUOTA)).toList());
            List<PruningStrategy> preProjector = kept.stream().map(PruningStrategy::byName)
                    .filter(s -> s.hookPoint() == HookPoint.PRE_PROJECTOR && !(s instanceof NoPruning)).toList();
            if (preProjector.stream().anyMatch(s -> !(s instanceof TokenSelector))) {
                throw new IllegalArgumentException("--prune quota keeps each frame's share with a selector (uniform, "
                        + "vtc-cls or random), not " + preProjector.getFirst().name());
            }
            if (preProjector.isEmpty()) {
                kept.add(0, QUOTA_DEFAULT_SELECTOR);
            }
            names = String.join("+", kept);
        }
        PruningPlan plan = PruningPlan.parse(names, parsed);
        if (plan.visionPolicy().isEmpty()) {
            if (asVitThresholds != null) {
                throw new IllegalArgumentException("--as-vit-thresholds applies to --prune as-vit only");
            }
            return plan;
        }
        if (asVitThresholds == null) {
            throw new IllegalArgumentException("--prune as-vit needs --as-vit-thresholds FILE (stage blocks and "
                    + "thresholds for this model, e.g. {\"blocks\":[3,6,9],\"thresholds\":[0.001,0.002,0.003]})");
        }
        AdaptiveSparseVitPolicy policy = new AdaptiveSparseVitPolicy(AsVitThresholds.load(asVitThresholds));
        List<PruningStrategy> stages = new ArrayList<>(plan.stages());
        stages.replaceAll(s -> s instanceof AdaptiveSparseVitPolicy ? policy : s);
        return new PruningPlan(stages, plan.budget());
    }
}
