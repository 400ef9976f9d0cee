package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;

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

    /**
     * System property: {@code host} scores as before on the host (each layer's [CLS] rows read
     * back, scores sent back for top-k), for A/B runs; {@code backend} (the default) scores and
     * selects where the taps are. Both give the same scores and tokens. Read at every selection.
     */
    public static final String SCORES_PROPERTY = "glimpse.vtcCls.scores";

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
        try (Tensor scores = scoreOnBackend(backend, frame)) {
            return HostTensors.values(backend, scores);
        }
    }

    /**
     * Scores on the backend, top-k on the backend, then two small reads: the kept indices (the one
     * wait for the tower) and, the stream idle by then, the scores the trace shows.
     */
    @Override
    public TokenSelection select(Backend backend, VisualFrame frame, int budget) {
        if (budget >= frame.grid().size()) {
            return TokenSelection.all(frame.frame(), frame.grid());
        }
        if (scoresOnHost()) {
            float[] scores = scoreOnHost(backend, frame);
            return new TokenSelection(frame.frame(), frame.grid(), TopKSelection.topIndices(backend, scores, budget),
                    scores);
        }
        try (Tensor scores = scoreOnBackend(backend, frame)) {
            int[] kept = TopKSelection.topIndices(backend, scores, budget);
            return new TokenSelection(frame.frame(), frame.grid(), kept, HostTensors.values(backend, scores));
        }
    }

    /**
     * As {@link #select}, with nothing read back: scores and top-k queued on the backend and left
     * there ({@link DeviceSelection}, owned by the caller), so the host need not wait for the tower.
     * Null where {@link #select} would not select on the backend: a budget at or above the grid
     * (every token kept) or {@link #SCORES_PROPERTY} {@code host}.
     */
    public DeviceSelection selectOnBackend(Backend backend, VisualFrame frame, int budget) {
        if (budget >= frame.grid().size() || scoresOnHost()) {
            return null;
        }
        Tensor scores = scoreOnBackend(backend, frame);
        try {
            return new DeviceSelection(frame.frame(), frame.grid(), backend.topK(scores, budget, TopK.Order.BY_INDEX),
                    scores);
        } catch (RuntimeException | Error e) {
            scores.close();
            throw e;
        }
    }

    /** The frame's scores as F32 [1, patches] on the backend, owned by the caller. */
    private Tensor scoreOnBackend(Backend backend, VisualFrame frame) {
        VisionAttention attention = attentionOf(frame);
        int patches = frame.grid().size();
        return attention.clsRows().isEmpty() ? VtcClsScorer.scoreProbe(backend, attention.probeAttention(), patches)
                : VtcClsScorer.score(backend, attention, startLayer, attention.encoderLayers() - 2, patches);
    }

    /** The frame's scores computed on the host from its rows read back ({@link #SCORES_PROPERTY} {@code host}). */
    float[] scoreOnHost(Backend backend, VisualFrame frame) {
        VisionAttention attention = attentionOf(frame);
        int patches = frame.grid().size();
        return attention.clsRows().isEmpty()
                ? VtcClsScorer.scoreProbeOnHost(backend, attention.probeAttention(), patches)
                : VtcClsScorer.scoreOnHost(backend, attention, startLayer, attention.encoderLayers() - 2, patches);
    }

    /** The frame's attention taps: [CLS] rows, or else the SigLIP probe. */
    private static VisionAttention attentionOf(VisualFrame frame) {
        VisionAttention attention = frame.attention();
        if (attention == null) {
            throw new IllegalArgumentException("vtc-cls needs the vision encoder's [CLS] attention (or SigLIP probe "
                    + "attention) for frame " + frame.frame());
        }
        if (attention.clsRows().isEmpty() && attention.probeAttention() == null) {
            throw new IllegalArgumentException("vtc-cls: frame " + frame.frame() + " has neither [CLS] rows nor probe "
                    + "attention");
        }
        return attention;
    }

    private static boolean scoresOnHost() {
        String mode = System.getProperty(SCORES_PROPERTY, "backend").trim();
        if (mode.equalsIgnoreCase("host")) {
            return true;
        }
        if (mode.equalsIgnoreCase("backend")) {
            return false;
        }
        throw new IllegalArgumentException("-D" + SCORES_PROPERTY + " must be backend or host, got '" + mode + "'");
    }
}
