package dev.glimpse.visionencoder.config;

import dev.glimpse.kernels.io.HfJson;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * The architecture of a CLIP or SigLIP vision tower, as transformers' {@code CLIPVisionConfig} and
 * {@code SiglipVisionConfig} define it, with their defaults for absent keys:
 * <ul>
 *   <li>{@code clip_vision_model}: hidden 768, intermediate 3072, 12 layers, 12 heads, 3 channels,
 *       image 224, patch 32, {@code quick_gelu}, layer-norm eps 1e-5, projection_dim 512;</li>
 *   <li>{@code siglip_vision_model}: hidden 768, intermediate 3072, 12 layers, 12 heads, 3 channels,
 *       image 224, patch 16, {@code gelu_pytorch_tanh}, eps 1e-6, no projection. SigLIP's attention
 *       pooling head exists unless {@code vision_use_head} is false: {@code SiglipVisionTransformer}
 *       reads {@code True if not hasattr(config, "vision_use_head") else config.vision_use_head}.</li>
 * </ul>
 * {@code attention_dropout} and initialiser settings are training-only and ignored.
 *
 * @param projectionDim CLIP's {@code projection_dim} (used by {@code CLIPVisionModelWithProjection}
 *                      only); empty for SigLIP unless the file sets it
 * @param visionUseHead whether SigLIP's pooling head exists; always false for CLIP, which has none
 */
public record VisionConfig(String modelType, int hiddenSize, int intermediateSize, int numHiddenLayers,
                           int numAttentionHeads, int numChannels, int imageSize, int patchSize, String hiddenAct,
                           double layerNormEps, OptionalInt projectionDim, boolean visionUseHead) {

    public static final String CLIP = "clip_vision_model";
    public static final String SIGLIP = "siglip_vision_model";

    public VisionConfig {
        if (!modelType.equals(CLIP) && !modelType.equals(SIGLIP)) {
            throw new IllegalArgumentException("vision model_type must be " + CLIP + " or " + SIGLIP + ", not " + modelType);
        }
    }

    /** Per-head width. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Patches per image side: {@code image_size // patch_size}, as the stride-{@code patch_size} conv gives. */
    public int patchesPerSide() {
        return imageSize / patchSize;
    }

    /** Patch tokens per image (without CLIP's class token). */
    public int numPatches() {
        return patchesPerSide() * patchesPerSide();
    }

    /** CLIP prepends a [CLS] token; SigLIP does not. */
    public boolean hasClassToken() {
        return modelType.equals(CLIP);
    }

    /**
     * Reads the vision config from a config.json: a standalone {@code CLIPVisionModel} /
     * {@code SiglipVisionModel} config, a {@code CLIPModel} / {@code SiglipModel} config (its
     * {@code vision_config}, defaulted as {@code CLIPConfig} does when absent), or any composite
     * config with a {@code vision_config} object (LLaVA).
     *
     * @throws dev.glimpse.kernels.io.ConfigException naming the file and key on bad input
     */
    public static VisionConfig load(Path configJson) {
        HfJson root = HfJson.read(configJson);
        String type = root.stringOr("model_type", "");
        return switch (type) {
            case CLIP, SIGLIP -> parse(root, type);
            case "clip" -> root.optObject("vision_config").map(v -> parse(v, CLIP)).orElseGet(() -> defaults(CLIP));
            case "siglip" -> root.optObject("vision_config").map(v -> parse(v, SIGLIP)).orElseGet(() -> defaults(SIGLIP));
            default -> root.optObject("vision_config").map(v -> parse(v, CLIP)).orElseThrow(() ->
                    root.error("model_type", "is '" + type + "'; expected " + CLIP + ", " + SIGLIP
                            + ", clip, siglip or a config with a vision_config"));
        };
    }

    /**
     * Parses a vision config object; {@code defaultModelType} applies when it has no
     * {@code model_type} (LLaVA defaults to CLIP, LLaVA-OneVision to SigLIP).
     */
    public static VisionConfig parse(HfJson json, String defaultModelType) {
        String type = json.stringOr("model_type", defaultModelType);
        boolean clip = type.equals(CLIP);
        if (!clip && !type.equals(SIGLIP)) {
            throw json.error("model_type", "is '" + type + "'; Glimpse supports " + CLIP + " and " + SIGLIP);
        }
        OptionalInt projection = json.optInt("projection_dim");
        VisionConfig config = new VisionConfig(type,
                json.intOr("hidden_size", 768),
                json.intOr("intermediate_size", 3072),
                json.intOr("num_hidden_layers", 12),
                json.intOr("num_attention_heads", 12),
                json.intOr("num_channels", 3),
                json.intOr("image_size", 224),
                json.intOr("patch_size", clip ? 32 : 16),
                json.stringOr("hidden_act", clip ? "quick_gelu" : "gelu_pytorch_tanh"),
                json.doubleOr("layer_norm_eps", clip ? 1e-5 : 1e-6),
                clip && projection.isEmpty() ? OptionalInt.of(512) : projection,
                !clip && json.boolOr("vision_use_head", true));
        validate(json, config);
        return config;
    }

    /** The config transformers builds with no arguments, e.g. {@code CLIPVisionConfig()}. */
    public static VisionConfig defaults(String modelType) {
        boolean clip = modelType.equals(CLIP);
        return new VisionConfig(modelType, 768, 3072, 12, 12, 3, 224, clip ? 32 : 16,
                clip ? "quick_gelu" : "gelu_pytorch_tanh", clip ? 1e-5 : 1e-6,
                clip ? OptionalInt.of(512) : OptionalInt.empty(), !clip);
    }

    private static void validate(HfJson json, VisionConfig c) {
        positive(json, "hidden_size", c.hiddenSize);
        positive(json, "intermediate_size", c.intermediateSize);
        positive(json, "num_hidden_layers", c.numHiddenLayers);
        positive(json, "num_attention_heads", c.numAttentionHeads);
        positive(json, "num_channels", c.numChannels);
        positive(json, "image_size", c.imageSize);
        positive(json, "patch_size", c.patchSize);
        if (c.hiddenSize % c.numAttentionHeads != 0) {
            throw json.error("hidden_size", "(" + c.hiddenSize + ") is not a multiple of num_attention_heads ("
                    + c.numAttentionHeads + ")");
        }
        if (c.imageSize < c.patchSize) {
            throw json.error("image_size", "(" + c.imageSize + ") is smaller than patch_size (" + c.patchSize + ")");
        }
        if (!(c.layerNormEps > 0)) {
            throw json.error("layer_norm_eps", "must be positive, is " + c.layerNormEps);
        }
    }

    private static void positive(HfJson json, String key, int value) {
        if (value <= 0) {
            throw json.error(key, "must be positive, is " + value);
        }
    }
}
