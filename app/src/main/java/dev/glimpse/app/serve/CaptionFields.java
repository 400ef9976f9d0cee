package dev.glimpse.app.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.glimpse.queryplanner.QuotaPrune;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.decoder.PositionMode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Collects the non-media fields of a caption request, from JSON members or multipart form fields
 * (as text), and validates them into a {@link CaptionRequest}. Every refusal is a 400 naming the
 * field. Fields: {@code question} (or its alias {@code prompt}), {@code frames}, {@code prune},
 * {@code budget}, {@code positions}, {@code max_new_tokens}, {@code trace}; unknown fields are
 * refused so that a misspelt option never passes silently. {@code prune} and {@code budget} follow
 * {@code glimpse ask --prune/--budget}, {@code quota} included (a video only, with a budget; its
 * rules and messages are {@link QuotaPrune#plan}'s, each frame resized to its share by default).
 */
final class CaptionFields {

    static final String DEFAULT_IMAGE_PROMPT = "Describe the image.";
    static final String DEFAULT_VIDEO_PROMPT = "Describe the video.";
    static final int DEFAULT_FRAMES = 8;
    static final int DEFAULT_MAX_NEW_TOKENS = 64;

    private final Map<String, JsonNode> values = new LinkedHashMap<>();

    /** Records field {@code name}; a 400 when it is unknown or repeated. */
    void put(String name, JsonNode value) {
        switch (name) {
            case "question", "prompt", "frames", "prune", "budget", "positions", "max_new_tokens", "trace" -> {
                if (values.putIfAbsent(name, value) != null) {
                    throw HttpError.badField(name, "given twice");
                }
            }
            default -> throw HttpError.badField(name, "unknown field; the fields are image or video (the media), "
                    + "question (or prompt), frames, prune, budget, positions, max_new_tokens, trace");
        }
    }

    /** A multipart form field. */
    void putText(String name, String value) {
        put(name, TextNode.valueOf(value));
    }

    CaptionRequest toRequest(CaptionRequest.Upload media, ServeLimits limits) {
        boolean video = media.kind() == CaptionRequest.Kind.VIDEO;
        if (values.containsKey("question") && values.containsKey("prompt")) {
            throw HttpError.badField("prompt", "give question or prompt, not both");
        }
        String question = text("question").or(() -> text("prompt"))
                .orElse(video ? DEFAULT_VIDEO_PROMPT : DEFAULT_IMAGE_PROMPT);
        if (question.isBlank()) {
            throw HttpError.badField(values.containsKey("question") ? "question" : "prompt", "empty");
        }
        Optional<Integer> frames = integer("frames", 1, limits.maxFrames());
        if (!video && frames.isPresent()) {
            throw HttpError.badField("frames", "applies to a video only");
        }
        int maxNewTokens = integer("max_new_tokens", 1, limits.maxNewTokens()).orElse(
                Math.min(DEFAULT_MAX_NEW_TOKENS, limits.maxNewTokens()));
        String prune = text("prune").orElse("none");
        TokenBudget budget = budget(video);
        PruningPlan plan = plan(prune, budget, video);
        return new CaptionRequest(media, question, video ? Optional.of(frames.orElse(
                Math.min(DEFAULT_FRAMES, limits.maxFrames()))) : Optional.empty(),
                plan, QuotaPrune.named(prune), positions(), maxNewTokens, bool("trace"));
    }

    /** The parsed {@code budget}, or null when none was given. */
    private TokenBudget budget(boolean video) {
        Optional<String> budgetText = text("budget");
        if (budgetText.isEmpty()) {
            return null;
        }
        TokenBudget budget;
        try {
            budget = TokenBudget.parse(budgetText.get());
        } catch (IllegalArgumentException e) {
            throw HttpError.badField("budget", e.getMessage());
        }
        if (budget instanceof TokenBudget.VideoTotal && !video) {
            throw HttpError.badField("budget", budgetText.get() + " is a total for a video, but the media is an image");
        }
        return budget;
    }

    private static PruningPlan plan(String prune, TokenBudget budget, boolean video) {
        boolean quota = QuotaPrune.named(prune);
        if (quota && !video) {
            throw HttpError.badField("prune", "--prune quota plans the frames of a video; send the media in "
                    + "the 'video' field");
        }
        PruningPlan plan;
        try {
            plan = quota ? QuotaPrune.plan(prune, budget) : PruningPlan.parse(prune, budget);
        } catch (IllegalArgumentException e) {
            // QuotaPrune.plan asks for the budget before it reads the stages: without one, that is the refusal
            throw HttpError.badField(quota && budget == null ? "budget" : "prune", e.getMessage());
        }
        if (plan.visionPolicy().isPresent()) {
            throw HttpError.badField("prune", "as-vit needs a thresholds file, which the service does not take; "
                    + "use glimpse ask --as-vit-thresholds");
        }
        return plan;
    }

    private Optional<PositionMode> positions() {
        try {
            return text("positions").map(PositionMode::parse);
        } catch (IllegalArgumentException e) {
            throw HttpError.badField("positions", e.getMessage());
        }
    }

    private Optional<String> text(String name) {
        JsonNode v = values.get(name);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw HttpError.badField(name, "must be a string");
        }
        if (v.textValue().length() > ServeLimits.MAX_TEXT_FIELD_CHARS) {
            throw HttpError.badField(name, "longer than " + ServeLimits.MAX_TEXT_FIELD_CHARS + " characters");
        }
        return Optional.of(v.textValue());
    }

    private Optional<Integer> integer(String name, int min, int max) {
        JsonNode v = values.get(name);
        if (v == null) {
            return Optional.empty();
        }
        long n;
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            n = v.longValue();
        } else if (v.isTextual() && v.textValue().strip().matches("-?\\d{1,18}")) {
            n = Long.parseLong(v.textValue().strip());
        } else {
            throw HttpError.badField(name, "must be an integer");
        }
        if (n < min || n > max) {
            throw HttpError.badField(name, n + " is outside " + min + ".." + max
                    + (n > max ? " (the server's limit)" : ""));
        }
        return Optional.of((int) n);
    }

    private boolean bool(String name) {
        JsonNode v = values.get(name);
        if (v == null) {
            return false;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isTextual() && (v.textValue().equals("true") || v.textValue().equals("false"))) {
            return Boolean.parseBoolean(v.textValue());
        }
        throw HttpError.badField(name, "must be true or false");
    }
}
