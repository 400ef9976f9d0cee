package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

import java.util.stream.IntStream;

/**
 * {@code vtc-cls}: keep the U patch tokens with the largest [CLS]-attention score
 * ({@link VtcClsScorer}: head mean per layer, summed over layers {@code startLayer} to the
 * penultimate), re-sorted into raster order, before the projector. Towers without [CLS]
 * (SigLIP) are scored from the pooling head's probe attention instead.
 *
 * <p>The vision encoder must tap {@link #clsLayers(int)} with its CLS-attention tap (or the probe
 * attention for SigLIP); the model then passes them as {@link VisualFrame#attention()}.
 *
 * @param startLayer first encoder layer (0-based) of the ensemble. The reference scripts take it
 *                   as an argument and report 16..20 for LLaVA-1.5's 24-layer tower; the default
 *                   is {@value #DEFAULT_START_LAYER}. FasterVLM (one layer, the penultimate) is
 *                   {@code startLayer = L - 2}.
 */
public record VtcClsSelector(int startLayer) implements TokenSelector {

    public static final int DEFAULT_START_LAYER = 16;

    public VtcClsSelector {
        if (startLayer < 0) {
            throw new IllegalArgumentException("VTC-CLS start layer must be >= 0, got " + startLayer);
        }
    }

    public static VtcClsSelector defaults() {
        return new VtcClsSelector(DEFAULT_START_LAYER);
    }

    @Override
    public String name() {
        return "vtc-cls";
    }

    /** Encoder layers whose [CLS] row this selector reads in a tower of {@code encoderLayers}: start .. L - 2. */
    public int[] clsLayers(int encoderLayers) {
        int end = encoderLayers - 2;
        if (startLayer > end) {
            throw new IllegalArgumentException("VTC-CLS start layer " + startLayer + " is past the penultimate layer "
                    + end + " of a " + encoderLayers + "-layer tower");
        }
        return IntStream.rangeClosed(startLayer, end).toArray();
    }

    /** The frame's scores: [CLS] ensemble when [CLS] rows are present, else the SigLIP probe. */
    public float[] score(Backend backend, VisualFrame frame) {
        VisionAttention attention = frame.attention();
        int patches = frame.grid().size();
        if (attention == null) {
            throw new IllegalArgumentException("vtc-cls needs the vision encoder's [CLS] attention (or SigLIP probe "
                    + "attention) for frame " + frame.frame());
        }
        if (!attention.clsRows().isEmpty()) {
            int end = attention.encoderLayers() - 2;
            return VtcClsScorer.score(backend, attention, startLayer, end, patches);
        }
        if (attention.probeAttention() != null) {
            return VtcClsScorer.scoreProbe(backend, attention.probeAttention(), patches);
        }
        throw new IllegalArgumentException("vtc-cls: frame " + frame.frame() + " has neither [CLS] rows nor probe attention");
    }

    @Override
    public TokenSelection select(Backend backend, VisualFrame frame, int budget) {
        if (budget >= frame.grid().size()) {
            return TokenSelection.all(frame.frame(), frame.grid());
        }
        float[] scores = score(backend, frame);
        return new TokenSelection(frame.frame(), frame.grid(), TopKSelection.topIndices(backend, scores, budget), scores);
    }
}
