package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

/** {@code none}: every token, in raster order, whatever the budget. The reference for all others. */
public record NoPruning() implements TokenSelector {

    @Override
    public String name() {
        return "none";
    }

    @Override
    public TokenSelection select(Backend backend, VisualFrame frame, int budget) {
        return TokenSelection.all(frame.frame(), frame.grid());
    }
}
