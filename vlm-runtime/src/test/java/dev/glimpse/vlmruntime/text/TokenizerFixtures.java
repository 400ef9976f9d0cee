package dev.glimpse.vlmruntime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The HF-made tokenizer fixtures under fixtures/tokenizers/ (tools/fixtures/fixture_tokenizers.py,
 * written by {@code make_fixtures.py --only tokenizers}): tokenizer.json, tokenizer_config.json,
 * chat_template.jinja and expected.json with what transformers gave for every case.
 */
final class TokenizerFixtures {

    /** Every tokenizer fixture; llama-bpe-add-eos is llama-bpe with add_bos_token/add_eos_token in its config. */
    static final List<String> NAMES = List.of("llama-bpe", "qwen2-bpe", "llama-bpe-add-eos");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, JsonNode> EXPECTED = new LinkedHashMap<>();

    private TokenizerFixtures() {
    }

    static Path root() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("fixtures");
            if (Files.isDirectory(candidate.resolve("tokenizers"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("fixtures/tokenizers not found above " + Path.of("").toAbsolutePath());
    }

    static Path folder(String name) {
        return root().resolve("tokenizers").resolve(name);
    }

    static synchronized JsonNode expected(String name) {
        return EXPECTED.computeIfAbsent(name, n -> read(folder(n).resolve("expected.json")));
    }

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON value as the plain Java value a template sees (maps keep their key order). */
    static Object plain(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            node.fields().forEachRemaining(e -> m.put(e.getKey(), plain(e.getValue())));
            return m;
        }
        if (node.isArray()) {
            List<Object> l = new ArrayList<>();
            node.forEach(v -> l.add(plain(v)));
            return l;
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.longValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        return node.textValue();
    }

    static Object parseJson(String json) {
        try {
            return plain(JSON.readTree(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** expected.json's {@code messages} as chat messages. */
    static List<ChatMessage> messages(JsonNode messages) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : messages) {
            String role = m.path("role").textValue();
            JsonNode content = m.path("content");
            if (content.isTextual()) {
                out.add(ChatMessage.text(role, content.textValue()));
                continue;
            }
            List<ContentPart> parts = new ArrayList<>();
            for (JsonNode p : content) {
                parts.add(switch (p.path("type").textValue()) {
                    case "text" -> new ContentPart.Text(p.path("text").textValue());
                    case "image" -> new ContentPart.Image();
                    case "video" -> new ContentPart.Video();
                    default -> throw new IllegalArgumentException("part type " + p.path("type"));
                });
            }
            out.add(new ChatMessage(role, Optional.empty(), parts));
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(v -> out.add(v.textValue()));
        return out;
    }

    /** A short printable label for a parameterised test name. */
    static String label(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().limit(40).forEach(c -> {
            if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return '"' + b.toString() + (text.codePointCount(0, text.length()) > 40 ? "…" : "") + '"';
    }
}
