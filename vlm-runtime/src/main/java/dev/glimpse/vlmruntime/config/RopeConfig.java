package dev.glimpse.vlmruntime.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.io.HfJson;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Rotary position embedding parameters in one form for both transformers spellings:
 * <ul>
 *   <li>4.x: top-level {@code rope_theta} plus an optional {@code rope_scaling} object whose type
 *       is under {@code type} (old) or {@code rope_type};</li>
 *   <li>5.x: one {@code rope_parameters} object holding {@code rope_type}, {@code rope_theta} and
 *       the scaling keys.</li>
 * </ul>
 * As in transformers 5's {@code convert_rope_params_to_dict} / {@code standardize_rope_params}
 * ({@code modeling_rope_utils.py}): the parameters come from {@code rope_scaling} when present, else
 * {@code rope_parameters}; {@code type} is renamed {@code rope_type}, which defaults to
 * {@code "default"}; {@code rope_theta} comes from the parameters, else the top level, else
 * 10000.0. Numeric parameters are kept as doubles (factor, low_freq_factor, high_freq_factor,
 * original_max_position_embeddings, attention_factor, beta_fast, beta_slow, ...).
 *
 * @param type       {@code default}, {@code linear}, {@code dynamic}, {@code llama3} or {@code yarn}
 * @param theta      the base of the inverse frequencies
 * @param parameters the remaining numeric parameters by their HF names, sorted
 */
public record RopeConfig(String type, double theta, Map<String, Double> parameters) {

    public static final double DEFAULT_THETA = 10000.0;

    /** Parameters each supported type requires, as transformers' {@code rope_config_validation} does. */
    private static final Map<String, List<String>> REQUIRED = Map.of(
            "default", List.of(),
            "linear", List.of("factor"),
            "dynamic", List.of("factor"),
            "llama3", List.of("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
            "yarn", List.of("factor"));

    public RopeConfig {
        parameters = Map.copyOf(new TreeMap<>(parameters));
    }

    /** Plain RoPE with {@code theta}. */
    public static RopeConfig standard(double theta) {
        return new RopeConfig("default", theta, Map.of());
    }

    /** The parameter {@code key}, if set. */
    public Optional<Double> parameter(String key) {
        return Optional.ofNullable(parameters.get(key));
    }

    /** Reads the RoPE settings of a text config object in either spelling. */
    public static RopeConfig parse(HfJson text) {
        Optional<HfJson> scaling = text.optObject("rope_scaling");
        String key = scaling.isPresent() ? "rope_scaling" : "rope_parameters";
        Optional<HfJson> params = scaling.or(() -> text.optObject("rope_parameters"));
        double topTheta = text.doubleOr("rope_theta", DEFAULT_THETA);
        if (params.isEmpty()) {
            return standard(topTheta);
        }
        HfJson p = params.get();
        String type = p.optString("rope_type").or(() -> p.optString("type")).orElse("default");
        List<String> required = REQUIRED.get(type);
        if (required == null) {
            throw p.error("rope_type", "is '" + type + "'; Glimpse supports " + new TreeMap<>(REQUIRED).keySet());
        }
        double theta = p.doubleOr("rope_theta", topTheta);
        Map<String, Double> values = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = p.node().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("rope_type") || name.equals("type") || name.equals("rope_theta") || e.getValue().isNull()) {
                continue;
            }
            if (!e.getValue().isNumber()) {
                throw p.error(name, "should be a number for rope type '" + type + "' but is " + e.getValue());
            }
            values.put(name, e.getValue().doubleValue());
        }
        for (String r : required) {
            if (!values.containsKey(r)) {
                throw p.error(r, "is missing (required by rope type '" + type + "' in " + text.keyPath(key) + ")");
            }
        }
        return new RopeConfig(type, theta, values);
    }
}
