package dev.glimpse.tokenpruning;

/** Where in the model a stage prunes (ARCHITECTURE.md, "Hook points for pruning"), in model order. */
public enum HookPoint {
    /** Inside the vision encoder, between blocks (AS-ViT). */
    VISION_BLOCK,
    /**
     * Between the vision features and the decoder, per picture: before the projector (VTC-CLS,
     * baselines, QuoTA budgets) or on its output (QuoTA's bilinear resize).
     */
    PRE_PROJECTOR,
    /** At decoder layer boundaries during prefill (FastV, ATP, SpAtten). */
    DECODER_LAYER
}
