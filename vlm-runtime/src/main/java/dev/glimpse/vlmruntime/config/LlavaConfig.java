package dev.glimpse.vlmruntime.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A {@code LlavaForConditionalGeneration} ({@code model_type} llava) or
 * {@code LlavaOnevisionForConditionalGeneration} (llava_onevision) config.json, in transformers 4.x
 * or 5.x spelling, with the defaults of {@code LlavaConfig} / {@code LlavaOnevisionConfig}
 * ({@code configuration_llava.py}, {@code configuration_llava_onevision.py}):
 * <ul>
 *   <li>llava: image token 32000, projector gelu, select strategy {@code default}, feature layer -2,
 *       576 image tokens, projector bias; absent {@code vision_config}: CLIP ViT-L/14-336
 *       (hidden 1024, intermediate 4096, 24 layers, 16 heads, image 336, patch 14, projection 768);
 *       absent {@code text_config}: {@code LlamaConfig()}; sub-configs without model_type are
 *       clip_vision_model / llama;</li>
 *   <li>llava_onevision: image token 151646, video token 151647, gelu, strategy {@code full}, layer
 *       -1, projector bias, aspect ratio {@code anyres_max_9}, the 36 default grid pinpoints (384 to
 *       2304 in steps of 384); absent {@code vision_config}: SigLIP (hidden 1152, intermediate 4304,
 *       26 layers, 16 heads, image 384, patch 14, no head; transformers 5 defaults); absent
 *       {@code text_config}: {@code Qwen2Config()}; sub-configs without model_type are
 *       siglip_vision_model / qwen2.</li>
 * </ul>
 * {@code image_token_id} (5.x) and {@code image_token_index} (4.x) are the same key, as are
 * {@code video_token_id} / {@code video_token_index} and {@code dtype} / {@code torch_dtype}.
 * {@code tie_word_embeddings} is true when either the top level or the text config sets it, as in
 * both HF classes.
 *
 * @param visionFeatureLayers {@code vision_feature_layer}; an int becomes a one-element list (HF
 *                            concatenates the listed layers' features, so one layer is that layer)
 * @param imageGridPinpoints  anyres candidate resolutions as [height, width]; empty for llava
 * @param visionAspectRatio   llava_onevision only
 * @param imageSeqLength      llava only
 */
public record LlavaConfig(List<String> architectures, String modelType, VisionConfig vision, TextConfig text,
                          int imageTokenId, OptionalInt videoTokenId, String projectorHiddenAct,
                          List<Integer> visionFeatureLayers, String visionFeatureSelectStrategy,
                          boolean multimodalProjectorBias, List<List<Integer>> imageGridPinpoints,
                          Optional<String> visionAspectRatio, OptionalInt imageSeqLength, boolean tieWordEmbeddings,
                          Optional<DType> dtype) {

    public static final String LLAVA = "llava";
    public static final String LLAVA_ONEVISION = "llava_onevision";

    public LlavaConfig {
        architectures = List.copyOf(architectures);
        visionFeatureLayers = List.copyOf(visionFeatureLayers);
        imageGridPinpoints = imageGridPinpoints.stream().map(List::copyOf).toList();
    }

    public boolean isOnevision() {
        return modelType.equals(LLAVA_ONEVISION);
    }

    /** Reads {@code config.json} of a LLaVA checkpoint folder or the file itself. */
    public static LlavaConfig load(Path configJson) {
        return parse(HfJson.read(configJson));
    }

    public static LlavaConfig parse(HfJson json) {
        String type = json.requireString("model_type");
        boolean ov = type.equals(LLAVA_ONEVISION);
        if (!ov && !type.equals(LLAVA)) {
            throw json.error("model_type", "is '" + type + "'; Glimpse supports " + LLAVA + " and " + LLAVA_ONEVISION);
        }
        VisionConfig vision = json.optObject("vision_config")
                .map(v -> VisionConfig.parse(v, ov ? VisionConfig.SIGLIP : VisionConfig.CLIP))
                .orElseGet(() -> ov ? defaultOnevisionVision() : defaultLlavaVision());
        TextConfig text = json.optObject("text_config")
                .map(t -> TextConfig.parse(t, ov ? TextConfig.QWEN2 : TextConfig.LLAMA))
                .orElseGet(() -> TextConfig.defaults(ov ? TextConfig.QWEN2 : TextConfig.LLAMA, json.file()));
        String strategy = json.stringOr("vision_feature_select_strategy", ov ? "full" : "default");
        if (!strategy.equals("default") && !strategy.equals("full")) {
            throw json.error("vision_feature_select_strategy", "is '" + strategy + "'; expected default or full");
        }
        List<Integer> layers = json.intOrIntList("vision_feature_layer");
        if (!json.has("vision_feature_layer")) {
            layers = List.of(ov ? -1 : -2);
        } else if (layers.isEmpty()) {
            throw json.error("vision_feature_layer", "is an empty list");
        }
        return new LlavaConfig(
                json.stringList("architectures"),
                type, vision, text,
                aliased(json, "image_token_id", "image_token_index").orElse(ov ? 151646 : 32000),
                ov ? OptionalInt.of(aliased(json, "video_token_id", "video_token_index").orElse(151647))
                        : aliased(json, "video_token_id", "video_token_index"),
                json.stringOr("projector_hidden_act", "gelu"),
                layers, strategy,
                json.boolOr("multimodal_projector_bias", true),
                pinpoints(json, ov),
                ov ? Optional.of(json.stringOr("vision_aspect_ratio", "anyres_max_9")) : Optional.empty(),
                ov ? OptionalInt.empty() : OptionalInt.of(json.intOr("image_seq_length", 576)),
                json.boolOr("tie_word_embeddings", false) || text.tieWordEmbeddings(),
                ModelDTypes.parse(json));
    }

    private static VisionConfig defaultLlavaVision() {
        return new VisionConfig(VisionConfig.CLIP, 1024, 4096, 24, 16, 3, 336, 14, "quick_gelu", 1e-5,
                OptionalInt.of(768), false);
    }

    private static VisionConfig defaultOnevisionVision() {
        return new VisionConfig(VisionConfig.SIGLIP, 1152, 4304, 26, 16, 3, 384, 14, "gelu_pytorch_tanh", 1e-6,
                OptionalInt.empty(), false);
    }

    private static OptionalInt aliased(HfJson json, String key5, String key4) {
        OptionalInt v5 = json.optInt(key5);
        OptionalInt v4 = json.optInt(key4);
        if (v5.isPresent() && v4.isPresent() && v5.getAsInt() != v4.getAsInt()) {
            throw json.error(key5, "(" + v5.getAsInt() + ") disagrees with " + json.keyPath(key4) + " (" + v4.getAsInt() + ")");
        }
        return v5.isPresent() ? v5 : v4;
    }

    private static List<List<Integer>> pinpoints(HfJson json, boolean ov) {
        Optional<JsonNode> raw = json.raw("image_grid_pinpoints");
        if (raw.isEmpty()) {
            return ov ? defaultPinpoints() : List.of();
        }
        if (!raw.get().isArray()) {
            throw json.error("image_grid_pinpoints", "should be a list of [height, width] pairs");
        }
        List<List<Integer>> out = new ArrayList<>();
        for (JsonNode pair : raw.get()) {
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).canConvertToInt() || !pair.get(1).canConvertToInt()
                    || !pair.get(0).isIntegralNumber() || !pair.get(1).isIntegralNumber()) {
                throw json.error("image_grid_pinpoints", "holds " + pair + ", not a [height, width] pair of integers");
            }
            out.add(List.of(pair.get(0).intValue(), pair.get(1).intValue()));
        }
        return out;
    }

    private static List<List<Integer>> defaultPinpoints() {
        List<List<Integer>> out = new ArrayList<>();
        for (int h = 384; h <= 2304; h += 384) {
            for (int w = 384; w <= 2304; w += 384) {
                out.add(List.of(h, w));
            }
        }
        return out;
    }
}
