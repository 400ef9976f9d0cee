package dev.glimpse.evalharness.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.evalharness.synth.QuestionType;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of results.jsonl: one question under one configuration.
 *
 * @param config           the configuration key ({@link EvalConfig#key()})
 * @param id               the question id
 * @param kind             "image" or "clip"
 * @param type             the question family
 * @param question         the question asked
 * @param answer           the expected answer
 * @param prediction       the generated answer
 * @param correct          whether it matched ({@code AnswerMatcher})
 * @param visualTokens     visual tokens without pruning
 * @param visualTokensKept visual tokens kept, averaged over decoder layers
 * @param flopsRatio       prefill FLOPs over unpruned
 * @param latencyMs        end-to-end latency
 */
public record ResultRow(String config, String id, String kind, QuestionType type, String question, String answer,
                        String prediction, boolean correct, int visualTokens, double visualTokensKept,
                        double flopsRatio, double latencyMs) {

    /** The resume key: configuration and question. */
    public String key() {
        return config + "\t" + id;
    }

    /** Kept visual tokens as a share of the unpruned count. */
    public double keptShare() {
        return visualTokens == 0 ? 1 : visualTokensKept / visualTokens;
    }

    Map<String, Object> toJson(EvalConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("config", config);
        m.put("prune", c.prune());
        m.put("budget", c.budget());
        m.put("positions", c.positionsKey());
        m.put("id", id);
        m.put("kind", kind);
        m.put("type", type.key());
        m.put("question", question);
        m.put("answer", answer);
        m.put("prediction", prediction);
        m.put("correct", correct);
        m.put("visual_tokens", visualTokens);
        m.put("visual_tokens_kept", visualTokensKept);
        m.put("flops_ratio", flopsRatio);
        m.put("latency_ms", latencyMs);
        return m;
    }

    static ResultRow fromJson(JsonNode n) {
        return new ResultRow(n.get("config").asText(), n.get("id").asText(), n.get("kind").asText(),
                QuestionType.ofKey(n.get("type").asText()), n.get("question").asText(), n.get("answer").asText(),
                n.get("prediction").asText(), n.get("correct").asBoolean(), n.get("visual_tokens").asInt(),
                n.get("visual_tokens_kept").asDouble(), n.get("flops_ratio").asDouble(), n.get("latency_ms").asDouble());
    }
}
