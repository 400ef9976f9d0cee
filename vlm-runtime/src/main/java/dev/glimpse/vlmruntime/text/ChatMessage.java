package dev.glimpse.vlmruntime.text;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One chat turn. Its content reaches the template either as a plain string ({@link #text}) or as
 * a list of typed parts ({@link #parts}), the two shapes transformers passes to chat templates.
 */
public record ChatMessage(String role, Optional<String> text, List<ContentPart> parts) {

    public ChatMessage {
        parts = List.copyOf(parts);
        if (text.isPresent() == !parts.isEmpty()) {
            throw new IllegalArgumentException("a chat message has either string content or parts, not both or neither");
        }
    }

    public static ChatMessage text(String role, String text) {
        return new ChatMessage(role, Optional.of(text), List.of());
    }

    public static ChatMessage parts(String role, ContentPart... parts) {
        return new ChatMessage(role, Optional.empty(), List.of(parts));
    }

    /** {@code {"role": ..., "content": str | [parts]}}. */
    public Map<String, Object> toTemplateValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", text.isPresent() ? text.get() : parts.stream().map(ContentPart::toTemplateValue).toList());
        return m;
    }
}
