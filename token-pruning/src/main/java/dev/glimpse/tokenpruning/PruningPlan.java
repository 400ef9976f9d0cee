package dev.glimpse.tokenpruning;

import dev.glimpse.tokenpruning.budget.TokenBudget;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pruning stages of one request, at most one per {@link HookPoint}, in model order: e.g.
 * {@code vtc-cls} before the projector and {@code spatten} inside the decoder. Parsed from
 * {@code --prune} ({@code "vtc-cls+spatten"}); {@code none} alone is the empty plan.
 *
 * @param stages strategies sorted by hook point
 * @param budget the {@code --budget} for count-taking stages: the pre-projector selector or
 *               {@code bilinear}, or FastV when there is neither; null for the strategies' defaults
 */
public record PruningPlan(List<PruningStrategy> stages, TokenBudget budget) {

    public PruningPlan {
        List<PruningStrategy> sorted = new ArrayList<>(stages);
        sorted.removeIf(s -> s instanceof NoPruning);
        sorted.sort(Comparator.comparing(PruningStrategy::hookPoint));
        Map<HookPoint, PruningStrategy> seen = new EnumMap<>(HookPoint.class);
        for (PruningStrategy s : sorted) {
            PruningStrategy other = seen.put(s.hookPoint(), s);
            if (other != null) {
                throw new IllegalArgumentException("--prune: " + other.name() + " and " + s.name()
                        + " both prune at " + s.hookPoint() + "; combine strategies at different hook points "
                        + "(e.g. vtc-cls+spatten)");
            }
        }
        stages = List.copyOf(sorted);
    }

    public static PruningPlan none() {
        return new PruningPlan(List.of(), null);
    }

    /**
     * Parses {@code --prune} ({@code name[+name...]}) with a parsed {@code --budget} (null: none
     * given). The budget goes to FastV when no pre-projector selector or {@code bilinear} takes it.
     */
    public static PruningPlan parse(String prune, TokenBudget budget) {
        List<PruningStrategy> stages = new ArrayList<>();
        for (String name : prune.split("\\+", -1)) {
            stages.add(PruningStrategy.byName(name));
        }
        boolean perFrame = stages.stream().anyMatch(PruningPlan::takesFrameBudget);
        if (budget != null && !perFrame) {
            stages.replaceAll(s -> s instanceof FastVSelector f ? f.withBudget(budget) : s);
        }
        return new PruningPlan(stages, budget);
    }

    public boolean isEmpty() {
        return stages.isEmpty();
    }

    /** The stage at {@code point}, if any. */
    public Optional<PruningStrategy> at(HookPoint point) {
        return stages.stream().filter(s -> s.hookPoint() == point).findFirst();
    }

    /** The pre-projector stage that takes a per-frame budget: a selector or {@code bilinear} (not {@code pool}). */
    public Optional<PruningStrategy> frameReduction() {
        return at(HookPoint.PRE_PROJECTOR).filter(PruningPlan::takesFrameBudget);
    }

    /** Whether {@code s} keeps a budgeted number of tokens per frame before the LLM (a selector or {@code bilinear}). */
    private static boolean takesFrameBudget(PruningStrategy s) {
        return (s instanceof TokenSelector && !(s instanceof NoPruning)) || s instanceof BilinearInterpolation;
    }

    /** The pre-projector selector, if any (none of {@code pool}). */
    public Optional<TokenSelector> selector() {
        return at(HookPoint.PRE_PROJECTOR).filter(TokenSelector.class::isInstance).map(TokenSelector.class::cast);
    }

    /** The decoder-layer strategy, if any. */
    public Optional<DecoderTokenPruner> decoderPruner() {
        return at(HookPoint.DECODER_LAYER).map(DecoderTokenPruner.class::cast);
    }

    /** The vision-block policy, if any. */
    public Optional<AdaptiveSparseVitPolicy> visionPolicy() {
        return at(HookPoint.VISION_BLOCK).map(AdaptiveSparseVitPolicy.class::cast);
    }

    /** Stage names joined by '+' ("none" when empty), as {@code --prune} spells it. */
    public String describe() {
        return stages.isEmpty() ? "none" : String.join("+", stages.stream().map(PruningStrategy::name).toList());
    }
}
