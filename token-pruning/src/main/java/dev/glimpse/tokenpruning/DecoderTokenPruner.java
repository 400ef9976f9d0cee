package dev.glimpse.tokenpruning;

import java.util.List;

/**
 * Prunes visual tokens at decoder layer boundaries during prefill (hook point 3). Stateless
 * configuration; {@link #start} makes the per-request state the model drives layer by layer:
 * <pre>
 *   DecoderPruningSession s = strategy.start(selections);   // visual tokens in prompt order
 *   // before layer l:  s.before(l)  -> capture what it says (empty: nothing)
 *   // after layer l:   int[] keep = s.afterLayer(backend, attention)  (positions among the
 *   //                  current visual tokens; text tokens are never touched)
 * </pre>
 */
public sealed interface DecoderTokenPruner extends PruningStrategy permits FastVSelector, SpAttenCascade, AtpSelector {

    @Override
    default HookPoint hookPoint() {
        return HookPoint.DECODER_LAYER;
    }

    /**
     * A fresh session over the visual tokens entering the decoder: the kept tokens of each
     * selection, concatenated in list order (the order the prompt holds them).
     */
    DecoderPruningSession start(List<TokenSelection> visualTokens);
}
