package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Attention statistics of one image from the vision encoder, as its taps record them.
 *
 * @param encoderLayers  layers of the tower (CLIP ViT-L/14-336: 24), so "penultimate" resolves
 * @param clsRows        per encoder layer (0-based, HF {@code attentions[l]}), the [CLS] query's
 *                       softmax row per head: [heads, 1 + patches] F32 with [CLS] itself in
 *                       column 0 (the vision encoder's {@code LayerTaps.clsAttention}); empty for
 *                       towers without [CLS]
 * @param probeAttention SigLIP's pooling-head probe attention [heads, patches] over the last
 *                       layer's tokens, or null
 */
public record VisionAttention(int encoderLayers, SortedMap<Integer, Tensor> clsRows, Tensor probeAttention) {

    public VisionAttention {
        if (encoderLayers <= 0) {
            throw new IllegalArgumentException("a vision tower has at least one layer, got " + encoderLayers);
        }
        clsRows = Collections.unmodifiableSortedMap(new TreeMap<>(clsRows == null ? new TreeMap<>() : clsRows));
    }

    /** CLIP: [CLS] rows per layer. */
    public static VisionAttention ofClsRows(int encoderLayers, SortedMap<Integer, Tensor> clsRows) {
        return new VisionAttention(encoderLayers, clsRows, null);
    }

    /** SigLIP: the pooling head's probe attention. */
    public static VisionAttention ofProbe(int encoderLayers, Tensor probeAttention) {
        return new VisionAttention(encoderLayers, new TreeMap<>(), probeAttention);
    }
}
