package dev.glimpse.app;

import dev.glimpse.queryplanner.QuotaPrune;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitThresholds;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pruning flags {@code glimpse ask} and {@code glimpse explain} share: {@code --prune},
 * {@code --budget} and {@code --as-vit-thresholds}, turned into a {@link PruningPlan}, and
 * {@code --positions}, the {@link PositionMode} of the tokens it keeps. AS-ViT's
 * thresholds are model-specific, so {@code as-vit} without a thresholds file is an error rather
 * than DeiT-S's initial values.
 */
final class PruningOptions {

    @Option(names = "--prune", defaultValue = "none", paramLabel = "M[+M2]",
            description = "Visual-token pruning: none, random, uniform, pool, bilinear, vtc-cls (before the LLM), "
                    + "as-vit (inside the vision tower), fastv, spatten, atp (inside the decoder); combine stages "
                    + "at different points with '+', e.g. vtc-cls+spatten. quota (--video): the QuoTA planner "
                    + "splits the video's --budget over its frames by query relevance, each frame's projected grid "
                    + "then resized to its share (bilinear), or the share kept by the selector given with it "
                    + "(e.g. quota+vtc-cls). Default: ${DEFAULT-VALUE}.")
    String prune;

    @Option(names = "--budget", paramLabel = "B",
            description = "Tokens to keep per image or frame (64), a share of them (25%%), or a video total (12544/video). "
                    + "Taken by vtc-cls, random, uniform, bilinear, else by fastv; with quota, a per-frame baseline "
                    + "(the video's total is that times --frames) or the total itself.")
    String budget;

    @Option(names = "--as-vit-thresholds", paramLabel = "FILE",
            description = "AS-ViT stage blocks and thresholds, {\"blocks\":[..],\"thresholds\":[..]} (required by as-vit).")
    Path asVitThresholds;

    @Option(names = "--positions", paramLabel = "P",
            description = "Rotary positions of the visual tokens pruning keeps: original (their positions in the "
                    + "unpruned prompt, gaps where pruned tokens were) or contiguous (re-indexed without gaps). "
                    + "Default: contiguous before the LLM (vtc-cls, random, uniform, pool, bilinear, as-vit), original "
                    + "inside the decoder (fastv, spatten, atp).")
    String positions;

    /** {@code options} with this request's plan and, when {@code --positions} is given, its position mode. */
    AskOptions applyTo(AskOptions options) {
        AskOptions planned = options.withPruning(plan());
        return positions == null ? planned : planned.withPositions(PositionMode.parse(positions));
    }

    /** Whether {@code --prune} names {@value QuotaPrune#NAME}: the QuoTA planner allots the budget per frame. */
    boolean quota() {
        return QuotaPrune.named(prune);
    }

    /** The parsed {@code --budget}, or null when none was given. */
    TokenBudget budget() {
        return budget == null ? null : TokenBudget.parse(budget);
    }

    /**
     * The plan these flags ask for; an IllegalArgumentException with a one-line message when they are wrong.
     * With {@value QuotaPrune#NAME}, the stages that answer once the planner has split the budget
     * ({@link QuotaPrune#plan}: each frame resized to its share unless a selector is named).
     */
    PruningPlan plan() {
        TokenBudget parsed = budget();
        PruningPlan plan = quota() ? QuotaPrune.plan(prune, parsed) : PruningPlan.parse(prune, parsed);
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
