package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;

import java.util.ArrayList;
import java.util.List;

/**
 * Picks a fixed number of visual tokens per image or frame between the vision encoder and the
 * projector (hook point 2). The model gathers the feature rows {@code selection.kept()} of each
 * frame and projects only those.
 *
 * <p>Guarantees: exactly {@code min(budget, grid.size())} tokens are kept ({@code none} keeps all
 * whatever the budget); they come back in raster order; a budget of at least the grid size keeps every token in
 * its original order (the identity, so the model path equals {@code none}); results are
 * deterministic (seeded where random).
 */
public sealed interface TokenSelector extends PruningStrategy
        permits NoPruning, RandomSelector, UniformSelector, VtcClsSelector {

    /** The tokens of {@code frame} to keep, {@code budget} of them (all when it has fewer). */
    TokenSelection select(Backend backend, VisualFrame frame, int budget);

    @Override
    default HookPoint hookPoint() {
        return HookPoint.PRE_PROJECTOR;
    }

    /** {@link #select} for each frame with its own budget; frames with budget 0 are left out. */
    default List<TokenSelection> selectAll(Backend backend, List<VisualFrame> frames, FrameBudgets budgets) {
        if (budgets.frames() != frames.size()) {
            throw new IllegalArgumentException(budgets.frames() + " frame budgets for " + frames.size() + " frames");
        }
        List<TokenSelection> out = new ArrayList<>(frames.size());
        for (int i = 0; i < frames.size(); i++) {
            if (budgets.tokensFor(i) > 0) {
                out.add(select(backend, frames.get(i), budgets.tokensFor(i)));
            }
        }
        return out;
    }

    /** {@link #selectAll} with {@code budget} resolved per frame (a video total split evenly). */
    default List<TokenSelection> selectAll(Backend backend, List<VisualFrame> frames, TokenBudget budget) {
        return selectAll(backend, frames, budgetsFor(frames, budget));
    }

    /** Per-frame counts of {@code budget} for these frames. */
    static FrameBudgets budgetsFor(List<VisualFrame> frames, TokenBudget budget) {
        return budget.perFrame(frames.stream().mapToInt(f -> f.grid().size()).toArray());
    }

    /** The trace stage of selections made with {@code budgets} (indexed by frame number, as {@link #selectAll} uses them). */
    default PruningTrace.Stage traceStage(List<TokenSelection> selections, FrameBudgets budgets) {
        int[] perSelection = new int[selections.size()];
        for (int i = 0; i < perSelection.length; i++) {
            perSelection[i] = budgets.tokensFor(selections.get(i).frame());
        }
        return PruningTrace.Stage.of(name(), name(), hookPoint(), null, selections, perSelection);
    }
}
