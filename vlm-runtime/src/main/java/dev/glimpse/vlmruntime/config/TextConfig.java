package dev.glimpse.vlmruntime.config;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.HfJson;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The decoder of a LLaVA-family model: Llama or Qwen2, with transformers' defaults for absent keys
 * ({@code LlamaConfig} / {@code Qwen2Config} in {@code configuration_llama.py} and
 * {@code configuration_qwen2.py}).
 *
 * <p>Llama: vocab 32000, hidden 4096, intermediate 11008, 32 layers, 32 heads, key/value heads
 * default to the heads, silu, 2048 positions, rms eps 1e-6, bos 1, eos 2, no pad, untied;
 * {@code attention_bias} (default false) puts biases on q, k, v and o; {@code mlp_bias} on the MLP.
 *
 * <p>Qwen2: vocab 151936, hidden 4096, intermediate 22016, 32 layers, 32 heads, 32 key/value heads
 * when the key is absent (the heads when it is {@code null}), silu, 32768 positions, rms eps 1e-6, no
 * bos/eos/pad, untied; q, k and v always have biases, o and the MLP never. Sliding-window
 * attention applies only with {@code use_sliding_window}, then to layers at index
 * {@code >= max_window_layers} (default 28), unless {@code layer_types} lists them.
 *
 * <p>{@code head_dim} is taken when given, else {@code hidden_size / num_attention_heads}.
 *
 * @param qkvBias       biases on the q, k and v projections
 * @param outputBias    bias on the attention output projection
 * @param eosTokenIds   {@code eos_token_id} as a list (an int becomes one element; empty for None)
 * @param dtype         {@code dtype} / {@code torch_dtype}, when declared
 * @param slidingWindow the window of sliding-attention layers; empty when none use it
 * @param layerTypes    {@code full_attention} or {@code sliding_attention} per layer
 */
public record TextConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                         int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps,
                         int maxPositionEmbeddings, RopeConfig rope, boolean qkvBias, boolean outputBias,
                         boolean mlpBias, boolean tieWordEmbeddings, String hiddenAct, OptionalInt bosTokenId,
                         List<Integer> eosTokenIds, OptionalInt padTokenId, Optional<DType> dtype,
                         OptionalInt slidingWindow, List<String> layerTypes) {

    public static final String LLAMA = "llama";
    public static final String QWEN2 = "qwen2";
    public static final String FULL_ATTENTION = "full_attention";
    public static final String SLIDING_ATTENTION = "sliding_attention";

    public TextConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        layerTypes = List.copyOf(layerTypes);
    }

    /** Reads a standalone decoder config.json ({@code LlamaForCausalLM}, {@code Qwen2ForCausalLM}). */
    public static TextConfig load(Path configJson) {
        HfJson root = HfJson.read(configJson);
        return parse(root, root.requireString("model_type"));
    }

    /** Parses a text config object; {@code defaultModelType} applies when it has no model_type. */
    public static TextConfig parse(HfJson json, String defaultModelType) {
        String type = json.stringOr("model_type", defaultModelType);
        boolean qwen2 = type.equals(QWEN2);
        if (!qwen2 && !type.equals(LLAMA)) {
            throw json.error("model_type", "is '" + type + "'; Glimpse supports " + LLAMA + " and " + QWEN2);
        }
        int hidden = json.intOr("hidden_size", 4096);
        int heads = json.intOr("num_attention_heads", 32);
        int layers = json.intOr("num_hidden_layers", 32);
        positive(json, "hidden_size", hidden);
        positive(json, "num_attention_heads", heads);
        positive(json, "num_hidden_layers", layers);
        int kvHeads = json.has("num_key_value_heads") ? json.requireInt("num_key_value_heads")
                : qwen2 && !json.isNull("num_key_value_heads") ? 32 : heads;
        positive(json, "num_key_value_heads", kvHeads);
        if (heads % kvHeads != 0) {
            throw json.error("num_key_value_heads", "(" + kvHeads + ") must divide num_attention_heads (" + heads + ")");
        }
        if (!json.has("head_dim") && hidden % heads != 0) {
            throw json.error("hidden_size", "(" + hidden + ") is not a multiple of num_attention_heads (" + heads + ")");
        }
        int headDim = json.has("head_dim") ? json.requireInt("head_dim") : hidden / heads;
        positive(json, "head_dim", headDim);
        boolean attentionBias = !qwen2 && json.boolOr("attention_bias", false);
        OptionalInt slidingWindow = qwen2 && json.boolOr("use_sliding_window", false)
                ? (json.isNull("sliding_window") ? OptionalInt.empty() : OptionalInt.of(json.intOr("sliding_window", 4096)))
                : OptionalInt.empty();
        return new TextConfig(type,
                json.intOr("vocab_size", qwen2 ? 151936 : 32000),
                hidden,
                json.intOr("intermediate_size", qwen2 ? 22016 : 11008),
                layers, heads, kvHeads, headDim,
                json.doubleOr("rms_norm_eps", 1e-6),
                json.intOr("max_position_embeddings", qwen2 ? 32768 : 2048),
                RopeConfig.parse(json),
                qwen2 || attentionBias,
                attentionBias,
                !qwen2 && json.boolOr("mlp_bias", false),
                json.boolOr("tie_word_embeddings", false),
                json.stringOr("hidden_act", "silu"),
                tokenId(json, "bos_token_id", qwen2 ? null : 1),
                json.has("eos_token_id") ? json.intOrIntList("eos_token_id")
                        : qwen2 || json.isNull("eos_token_id") ? List.of() : List.of(2),
                tokenId(json, "pad_token_id", null),
                ModelDTypes.parse(json),
                slidingWindow,
                layerTypes(json, qwen2, layers, slidingWindow));
    }

    /** The config {@code LlamaConfig()} / {@code Qwen2Config()} builds with no arguments. */
    public static TextConfig defaults(String modelType, Path origin) {
        return parse(HfJson.of(origin, JsonNodeFactory.instance.objectNode()),
                modelType);
    }

    private static OptionalInt tokenId(HfJson json, String key, Integer fallback) {
        if (json.has(key)) {
            return OptionalInt.of(json.requireInt(key));
        }
        return json.isNull(key) || fallback == null ? OptionalInt.empty() : OptionalInt.of(fallback);
    }

    private static List<String> layerTypes(HfJson json, boolean qwen2, int layers, OptionalInt slidingWindow) {
        if (json.has("layer_types")) {
            List<String> given = json.stringList("layer_types");
            if (given.size() != layers) {
                throw json.error("layer_types", "lists " + given.size() + " layers but num_hidden_layers is " + layers);
            }
            for (String t : given) {
                if (!t.equals(FULL_ATTENTION) && !t.equals(SLIDING_ATTENTION)) {
                    throw json.error("layer_types", "holds '" + t + "'; expected " + FULL_ATTENTION + " or " + SLIDING_ATTENTION);
                }
            }
            return given;
        }
        int maxWindowLayers = qwen2 ? json.intOr("max_window_layers", 28) : layers;
        List<String> types = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) {
            types.add(slidingWindow.isPresent() && i >= maxWindowLayers ? SLIDING_ATTENTION : FULL_ATTENTION);
        }
        return types;
    }

    private static void positive(HfJson json, String key, int value) {
        if (value <= 0) {
            throw json.error(key, "must be positive, is " + value);
        }
    }
}
