package dev.glimpse.app;

import dev.glimpse.vlmruntime.api.Answer;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON shape of an {@link Answer}, shared by {@code glimpse ask --json} and the REST service's
 * {@code POST /v1/caption}: answer text, token ids, stop reason, token counts (visual tokens in and
 * kept per stage), timings, prefill FLOPs, what pruning did, tokens/s, and optionally the trace.
 */
public final class AnswerJson {

    private AnswerJson() {
    }

    /** The answer as ordered maps and lists for Jackson; {@code withTrace} adds the pruning trace under "trace". */
    public static Map<String, Object> of(Answer a, boolean withTrace) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("answer", a.text());
        out.put("token_ids", a.tokenIds());
        out.put("stop_reason", a.stopReason().name().toLowerCase(Locale.ROOT));
        Map<String, Object> tokens = new LinkedHashMap<>();
        tokens.put("prompt", a.counts().prompt());
        tokens.put("generated", a.counts().generated());
        Map<String, Object> visual = new LinkedHashMap<>();
        for (Answer.VisualStage s : a.counts().visual()) {
            visual.put(s.stage(), Map.of("in", s.in(), "kept", s.kept()));
        }
        tokens.put("visual", visual);
        out.put("tokens", tokens);
        Answer.StageTimings t = a.timings();
        Map<String, Object> ms = new LinkedHashMap<>();
        ms.put("decode_media", t.decodeMediaNanos() / 1e6);
        ms.put("preprocess", t.preprocessNanos() / 1e6);
        ms.put("vision", t.visionNanos() / 1e6);
        ms.put("prefill", t.prefillNanos() / 1e6);
        ms.put("generate", t.generateNanos() / 1e6);
        out.put("timings_ms", ms);
        out.put("prefill_flops", a.prefillFlops());
        Map<String, Object> pruned = new LinkedHashMap<>();
        pruned.put("plan", a.pruning().plan());
        pruned.put("visual_tokens_per_layer", a.pruning().visualTokensPerLayer());
        pruned.put("heads_per_layer", a.pruning().headsPerLayer());
        Map<String, Object> positions = new LinkedHashMap<>();
        positions.put("prompt", a.pruning().promptPositions().key());
        positions.put("decoder", a.pruning().decoderPositions().key());
        pruned.put("positions", positions);
        pruned.put("average_visual_tokens", a.prefill().averageVisualTokens());
        pruned.put("unpruned_prefill_flops", a.prefill().unprunedFlops());
        pruned.put("flops_ratio", a.prefill().flopsRatio());
        out.put("pruning", pruned);
        out.put("prefill_tokens_per_second", a.prefillTokensPerSecond());
        out.put("decode_tokens_per_second", a.decodeTokensPerSecond());
        if (withTrace) {
            out.put("trace", a.pruning().trace());
        }
        return out;
    }
}
