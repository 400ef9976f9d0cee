package dev.glimpse.app.serve;

import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.LlavaConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of {@code GET /v1/model}: which model serves (its folder name as id, architecture,
 * model types, whether it takes video natively), on which device, and the service's limits
 * (request bytes, concurrency, frames, tokens, pixels per image or frame, video duration, decoding
 * time), so that a client can size its requests.
 */
final class ModelDescription {

    private ModelDescription() {
    }

    static Map<String, Object> of(VisionLanguageModel vlm, ServeLimits limits) {
        LlavaConfig config = vlm.llava().config();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", vlm.folder().getFileName().toString());
        out.put("architectures", config.architectures());
        out.put("model_type", config.modelType());
        out.put("text_model_type", config.text().modelType());
        out.put("accepts_video", vlm.llava().acceptsVideo());
        out.put("device", vlm.llava().backend().name());
        out.put("limits", limits(limits));
        return out;
    }

    static Map<String, Object> limits(ServeLimits limits) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("max_request_bytes", limits.maxRequestBytes());
        out.put("max_concurrent", limits.maxConcurrent());
        out.put("max_queued", limits.maxQueued());
        out.put("max_frames", limits.maxFrames());
        out.put("max_new_tokens", limits.maxNewTokens());
        out.put("max_pixels", limits.maxPixels());
        out.put("max_duration_seconds", limits.maxDuration().toSeconds());
        out.put("decode_timeout_seconds", limits.decodeTimeout().toSeconds());
        out.put("default_frames", Math.min(CaptionFields.DEFAULT_FRAMES, limits.maxFrames()));
        out.put("default_max_new_tokens", Math.min(CaptionFields.DEFAULT_MAX_NEW_TOKENS, limits.maxNewTokens()));
        return out;
    }
}
