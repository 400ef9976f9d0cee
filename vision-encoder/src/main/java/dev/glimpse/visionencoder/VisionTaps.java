package dev.glimpse.visionencoder;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which attention statistics to record while encoding, for token-pruning scores. Nothing is
 * recorded, and nothing is slowed down, for layers and kinds not asked for; recording never
 * changes the features. Layers are encoder-layer indices from 0, as in HF's {@code attentions}
 * tuple (layer {@code l} produces {@code hidden_states[l + 1]}).
 *
 * @param layers encoder layers whose self-attention to tap
 * @param kinds  what to record at those layers ({@link Tap#PROBE_ATTENTION} is not per layer)
 */
public record VisionTaps(SortedSet<Integer> layers, Set<Tap> kinds) {

    /** What a tap records. Shapes are per image; N is the token count entering the layer. */
    public enum Tap {
        /**
         * The [CLS] query's attention row per head, [heads, N]: {@code A^{l,h}[0, :]} (VTC-CLS,
         * AS-ViT's class attention). CLIP only: SigLIP has no [CLS].
         */
        CLS_ATTENTION,
        /** Attention received by each key, averaged over the N queries, per head: [heads, N]. */
        MEAN_ATTENTION_RECEIVED,
        /**
         * Per head and token, {@code ||o^h_j||_2} with {@code o^h = A^h V^h} the head's slice of
         * the attention output before {@code out_proj}: [heads, N] (AS-ViT's head importance).
         */
        HEAD_OUTPUT_NORMS,
        /**
         * SigLIP's pooling-head probe attention over the last layer's tokens, per head: [heads, N]
         * (the [CLS]-attention substitute for towers without [CLS]).
         */
        PROBE_ATTENTION
    }

    public static final VisionTaps NONE = new VisionTaps(new TreeSet<>(), EnumSet.noneOf(Tap.class));

    public VisionTaps {
        for (int layer : layers) {
            if (layer < 0) {
                throw new IllegalArgumentException("tap layer must be >= 0, got " + layer);
            }
        }
        layers = Collections.unmodifiableSortedSet(new TreeSet<>(layers));
        kinds = Collections.unmodifiableSet(kinds.isEmpty() ? EnumSet.noneOf(Tap.class) : EnumSet.copyOf(kinds));
    }

    /** {@code kinds} at the given layers. */
    public static VisionTaps of(Set<Tap> kinds, int... layers) {
        TreeSet<Integer> set = new TreeSet<>();
        for (int layer : layers) {
            set.add(layer);
        }
        return new VisionTaps(set, kinds);
    }

    /** {@code kinds} at every layer of a {@code numLayers}-layer tower. */
    public static VisionTaps allLayers(int numLayers, Set<Tap> kinds) {
        TreeSet<Integer> set = new TreeSet<>();
        for (int l = 0; l < numLayers; l++) {
            set.add(l);
        }
        return new VisionTaps(set, kinds);
    }

    /** True when something is recorded at encoder layer {@code layer}. */
    public boolean tapsLayer(int layer) {
        return layers.contains(layer) && kinds.stream().anyMatch(k -> k != Tap.PROBE_ATTENTION);
    }

    public boolean wants(int layer, Tap kind) {
        return kinds.contains(kind) && layers.contains(layer);
    }

    public boolean wantsProbeAttention() {
        return kinds.contains(Tap.PROBE_ATTENTION);
    }

    /** The deepest tapped layer, or -1 when no layer is tapped. */
    public int deepestLayer() {
        return layers.isEmpty() || kinds.stream().allMatch(k -> k == Tap.PROBE_ATTENTION) ? -1 : layers.last();
    }

    /**
     * Everything either request asks for (used to add a pruning hook's needs to the caller's): the
     * union of the kinds at the union of the layers, which may record more than either asked.
     */
    public VisionTaps union(VisionTaps other) {
        TreeSet<Integer> l = new TreeSet<>(layers);
        l.addAll(other.layers);
        EnumSet<Tap> k = EnumSet.noneOf(Tap.class);
        k.addAll(kinds);
        k.addAll(other.kinds);
        return new VisionTaps(l, k);
    }
}
