package dev.glimpse.visionencoder;

/**
 * What one {@link VisionTransformer#encode} call should produce. Only the layers the request needs
 * run: LLaVA-1.5's {@code -2} skips the last layer, where HF computes all of them.
 *
 * @param selection         LLaVA feature selection, or null for no features
 * @param keepHiddenStates  also return each selected hidden state on its own (full, before the
 *                          select strategy), e.g. to compare with HF's {@code hidden_states}
 * @param lastHiddenState   return HF's {@code last_hidden_state} (SigLIP: after {@code post_layernorm})
 * @param pooled            return HF's {@code pooler_output} (CLIP: {@code post_layernorm} of [CLS];
 *                          SigLIP: the attention-pooling head)
 * @param taps              attention statistics to record ({@link VisionTaps#NONE} for none)
 * @param pruning           a policy that drops tokens between blocks, or null
 */
public record VisionRequest(FeatureSelection selection, boolean keepHiddenStates, boolean lastHiddenState,
                            boolean pooled, VisionTaps taps, BlockPruningHook pruning) {

    public VisionRequest {
        if (taps == null) {
            taps = VisionTaps.NONE;
        }
        if (keepHiddenStates && selection == null) {
            throw new IllegalArgumentException("keepHiddenStates needs a feature selection naming the layers");
        }
    }

    /** LLaVA features only. */
    public static VisionRequest features(FeatureSelection selection) {
        return new VisionRequest(selection, false, false, false, VisionTaps.NONE, null);
    }

    /** HF's {@code last_hidden_state} and {@code pooler_output}. */
    public static VisionRequest lastHiddenStateAndPooled() {
        return new VisionRequest(null, false, true, true, VisionTaps.NONE, null);
    }

    public VisionRequest withTaps(VisionTaps newTaps) {
        return new VisionRequest(selection, keepHiddenStates, lastHiddenState, pooled, newTaps, pruning);
    }

    public VisionRequest withPruning(BlockPruningHook hook) {
        return new VisionRequest(selection, keepHiddenStates, lastHiddenState, pooled, taps, hook);
    }

    public VisionRequest withHiddenStates() {
        return new VisionRequest(selection, true, lastHiddenState, pooled, taps, pruning);
    }

    public VisionRequest withLastHiddenState() {
        return new VisionRequest(selection, keepHiddenStates, true, pooled, taps, pruning);
    }

    public VisionRequest withPooled() {
        return new VisionRequest(selection, keepHiddenStates, lastHiddenState, true, taps, pruning);
    }

    /** Every recorded tap: the caller's and the pruning hook's. */
    VisionTaps allTaps() {
        return pruning == null ? taps : taps.union(pruning.taps());
    }
}
