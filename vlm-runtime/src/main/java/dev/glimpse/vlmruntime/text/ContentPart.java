package dev.glimpse.vlmruntime.text;

import java.util.LinkedHashMap;
import java.util.Map;

/** One part of a multimodal chat message, as transformers' processors spell it ({@code {"type": ...}}). */
public sealed interface ContentPart permits ContentPart.Text, ContentPart.Image, ContentPart.Video {

    /** The value a chat template sees. */
    Map<String, Object> toTemplateValue();

    record Text(String text) implements ContentPart {
        @Override
        public Map<String, Object> toTemplateValue() {
            Map<String, Object> m = new LinkedHashMap<>();  // key order shows in tojson: as transformers builds it
            m.put("type", "text");
            m.put("text", text);
            return m;
        }
    }

    record Image() implements ContentPart {
        @Override
        public Map<String, Object> toTemplateValue() {
            return Map.of("type", "image");
        }
    }

    record Video() implements ContentPart {
        @Override
        public Map<String, Object> toTemplateValue() {
            return Map.of("type", "video");
        }
    }
}
