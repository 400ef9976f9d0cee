package dev.glimpse.tokenpruning;

import java.util.List;
import java.util.Locale;

/**
 * A visual-token pruning strategy, selectable by name ({@code --prune}, API, config). The closed
 * set is grouped by what the model hands over at the strategy's {@link HookPoint}:
 * <ul>
 *   <li>{@link TokenSelector}: before the projector, one {@link VisualFrame} at a time, a budget in
 *       tokens, a {@link TokenSelection} out ({@code none}, {@code random}, {@code uniform},
 *       {@code vtc-cls});</li>
 *   <li>{@link AveragePooling}: before the projector, a feature transform ({@code pool});</li>
 *   <li>{@link BilinearInterpolation}: at the same hook point, a budget in tokens per frame, each
 *       frame's projected grid resized to it ({@code bilinear}, QuoTA's within-frame default);</li>
 *   <li>{@link DecoderTokenPruner}: at decoder layer boundaries during prefill, through a
 *       per-request {@link DecoderPruningSession} ({@code fastv}, {@code spatten}, {@code atp});</li>
 *   <li>{@link AdaptiveSparseVitPolicy}: between vision-encoder blocks ({@code as-vit}).</li>
 * </ul>
 * Model modules switch over this sealed hierarchy to know what to capture and where to call.
 */
public sealed interface PruningStrategy
        permits TokenSelector, AveragePooling, BilinearInterpolation, DecoderTokenPruner, AdaptiveSparseVitPolicy {

    /** Every name {@link #byName} accepts, in documentation order. */
    List<String> NAMES = List.of("none", "random", "uniform", "pool", "vtc-cls", "fastv", "spatten", "atp", "as-vit",
            "bilinear");

    /** The name that selects this strategy. */
    String name();

    /** Where the model calls it. */
    HookPoint hookPoint();

    /**
     * The strategy called {@code name} with its documented defaults: random seed 0; VTC-CLS from
     * layer {@value VtcClsSelector#DEFAULT_START_LAYER}; FastV at K = 2 keeping 50%; SpAtten's and
     * ATP's default schedules; AS-ViT with DeiT-S's initial thresholds (load calibrated ones for
     * a real model).
     */
    static PruningStrategy byName(String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "none" -> new NoPruning();
            case "random" -> new RandomSelector(0L);
            case "uniform" -> new UniformSelector();
            case "pool" -> new AveragePooling();
            case "bilinear" -> new BilinearInterpolation();
            case "vtc-cls" -> VtcClsSelector.defaults();
            case "fastv" -> FastVSelector.defaults();
            case "spatten" -> SpAttenCascade.defaults();
            case "atp" -> AtpSelector.defaults();
            case "as-vit" -> AdaptiveSparseVitPolicy.defaults();
            default -> throw new IllegalArgumentException("--prune '" + name + "' is not a pruning strategy; use one of "
                    + String.join(", ", NAMES) + " (combine stages with '+', e.g. vtc-cls+spatten)");
        };
    }
}
