package dev.glimpse.visionencoder;

import java.util.List;
import java.util.Locale;

/**
 * Which hidden states LLaVA feeds to its projector, as {@code LlavaModel.get_image_features}
 * ({@code modeling_llava.py}) reads them from the vision tower's {@code hidden_states} tuple, whose
 * entry 0 is the embedding output (after CLIP's {@code pre_layrnorm}) and entry {@code l} the output
 * of encoder layer {@code l} (before {@code post_layernorm}):
 * <ul>
 *   <li>{@code vision_feature_layer}: one index or a list, Python-style (negative counts from the
 *       end: -1 is the last layer's output, -2 the one before, as LLaVA-1.5 uses); with a list the
 *       selected states are concatenated on the feature dim, in list order;</li>
 *   <li>{@code vision_feature_select_strategy}: {@code "default"} drops the first token of every
 *       selected state ({@code [:, 1:]}, CLIP's [CLS]; HF drops the first row for any tower, and so
 *       does this), {@code "full"} keeps every token.</li>
 * </ul>
 */
public record FeatureSelection(List<Integer> layers, Strategy strategy) {

    /** {@code vision_feature_select_strategy}. */
    public enum Strategy {
        DEFAULT, FULL;

        public static Strategy parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "default" -> DEFAULT;
                case "full" -> FULL;
                default -> throw new IllegalArgumentException("vision_feature_select_strategy must be 'default' or 'full', not '"
                        + name + "'");
            };
        }
    }

    public FeatureSelection {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("vision_feature_layer must name at least one layer");
        }
    }

    /** One layer, as LLaVA configs with an int {@code vision_feature_layer} ask. */
    public static FeatureSelection of(int layer, String strategy) {
        return new FeatureSelection(List.of(layer), Strategy.parse(strategy));
    }

    /** Several layers, concatenated on the feature dim. */
    public static FeatureSelection of(List<Integer> layers, String strategy) {
        return new FeatureSelection(layers, Strategy.parse(strategy));
    }

    /** LLaVA-1.5: the penultimate layer, [CLS] dropped. */
    public static FeatureSelection llava15() {
        return new FeatureSelection(List.of(-2), Strategy.DEFAULT);
    }

    public boolean dropsFirstToken() {
        return strategy == Strategy.DEFAULT;
    }

    /**
     * The selected entries of {@code hidden_states} as indices in {@code [0, numHiddenLayers]}.
     *
     * @throws IllegalArgumentException naming the index when it is outside the tower
     */
    public int[] resolve(int numHiddenLayers) {
        int states = numHiddenLayers + 1;
        int[] out = new int[layers.size()];
        for (int i = 0; i < out.length; i++) {
            int layer = layers.get(i);
            int index = layer < 0 ? layer + states : layer;
            if (index < 0 || index >= states) {
                throw new IllegalArgumentException("vision_feature_layer " + layer + " is outside the " + states
                        + " hidden states of a " + numHiddenLayers + "-layer vision tower (valid: " + -states
                        + " .. " + numHiddenLayers + ")");
            }
            out[i] = index;
        }
        return out;
    }
}
