package dev.glimpse.kernels.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * A JSON object from a Hugging Face file, remembered with its file and key path so that every
 * error names both. Accessors follow how transformers' config classes treat keys: an absent key
 * takes the class default; a JSON {@code null} means Python {@code None} (the {@code opt*}
 * accessors report it as empty, and {@link #isNull} tells it apart from absence where the class
 * treats the two differently). Numbers must be JSON numbers (integral for ints); wrong types are a
 * {@link ConfigException}.
 */
public final class HfJson {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path file;
    private final String path;
    private final JsonNode node;

    private HfJson(Path file, String path, JsonNode node) {
        this.file = file;
        this.path = path;
        this.node = node;
    }

    /** Reads {@code file}, which must hold a JSON object. */
    public static HfJson read(Path file) {
        try {
            JsonNode root = JSON.readTree(Files.readString(file));
            if (root == null || !root.isObject()) {
                throw new ConfigException(file + ": not a JSON object");
            }
            return new HfJson(file, "", root);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": file not found", e);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Wraps an already parsed object (tests, embedded configs). */
    public static HfJson of(Path file, JsonNode object) {
        if (!object.isObject()) {
            throw new ConfigException(file + ": not a JSON object");
        }
        return new HfJson(file, "", object);
    }

    public Path file() {
        return file;
    }

    /** The key path of this object from the file's root ("" for the root). */
    public String path() {
        return path;
    }

    public JsonNode node() {
        return node;
    }

    /** True when {@code key} is present and not {@code null}. */
    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** True when {@code key} is present with the value {@code null}. */
    public boolean isNull(String key) {
        JsonNode v = node.get(key);
        return v != null && v.isNull();
    }

    /** The raw value of {@code key}, or empty when absent or null. */
    public Optional<JsonNode> raw(String key) {
        return has(key) ? Optional.of(node.get(key)) : Optional.empty();
    }

    /** The nested object {@code key}, or empty when absent or null. */
    public Optional<HfJson> optObject(String key) {
        return raw(key).map(v -> {
            if (!v.isObject()) {
                throw wrongType(key, "an object", v);
            }
            return new HfJson(file, keyPath(key), v);
        });
    }

    public int requireInt(String key) {
        return optInt(key).orElseThrow(() -> missing(key));
    }

    public int intOr(String key, int fallback) {
        return optInt(key).orElse(fallback);
    }

    public OptionalInt optInt(String key) {
        Optional<JsonNode> v = raw(key);
        if (v.isEmpty()) {
            return OptionalInt.empty();
        }
        return OptionalInt.of(asInt(key, v.get()));
    }

    public double requireDouble(String key) {
        return optDouble(key).orElseThrow(() -> missing(key));
    }

    public double doubleOr(String key, double fallback) {
        return optDouble(key).orElse(fallback);
    }

    public OptionalDouble optDouble(String key) {
        Optional<JsonNode> v = raw(key);
        if (v.isEmpty()) {
            return OptionalDouble.empty();
        }
        if (!v.get().isNumber()) {
            throw wrongType(key, "a number", v.get());
        }
        return OptionalDouble.of(v.get().doubleValue());
    }

    public String requireString(String key) {
        return optString(key).orElseThrow(() -> missing(key));
    }

    public String stringOr(String key, String fallback) {
        return optString(key).orElse(fallback);
    }

    public Optional<String> optString(String key) {
        return raw(key).map(v -> {
            if (!v.isTextual()) {
                throw wrongType(key, "a string", v);
            }
            return v.textValue();
        });
    }

    public boolean boolOr(String key, boolean fallback) {
        return optBool(key).orElse(fallback);
    }

    public Optional<Boolean> optBool(String key) {
        return raw(key).map(v -> {
            if (!v.isBoolean()) {
                throw wrongType(key, "true or false", v);
            }
            return v.booleanValue();
        });
    }

    /** An int or a list of ints (e.g. {@code eos_token_id}) as a list; empty when absent or null. */
    public List<Integer> intOrIntList(String key) {
        Optional<JsonNode> v = raw(key);
        if (v.isEmpty()) {
            return List.of();
        }
        if (v.get().isArray()) {
            return intList(key);
        }
        return List.of(asInt(key, v.get()));
    }

    /** A list of ints; empty when absent or null. */
    public List<Integer> intList(String key) {
        Optional<JsonNode> v = raw(key);
        if (v.isEmpty()) {
            return List.of();
        }
        if (!v.get().isArray()) {
            throw wrongType(key, "a list of integers", v.get());
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < v.get().size(); i++) {
            out.add(asInt(key + "[" + i + "]", v.get().get(i)));
        }
        return List.copyOf(out);
    }

    /** A list of strings; empty when absent or null. */
    public List<String> stringList(String key) {
        Optional<JsonNode> v = raw(key);
        if (v.isEmpty()) {
            return List.of();
        }
        if (!v.get().isArray()) {
            throw wrongType(key, "a list of strings", v.get());
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v.get()) {
            if (!e.isTextual()) {
                throw wrongType(key, "a list of strings", v.get());
            }
            out.add(e.textValue());
        }
        return List.copyOf(out);
    }

    /** The full key path of {@code key} below this object, e.g. {@code text_config.rope_theta}. */
    public String keyPath(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** An error about {@code key} of this object, naming the file and key path. */
    public ConfigException error(String key, String problem) {
        return new ConfigException(file + ": key '" + keyPath(key) + "' " + problem);
    }

    private ConfigException missing(String key) {
        return error(key, "is missing");
    }

    private ConfigException wrongType(String key, String expected, JsonNode actual) {
        return error(key, "should be " + expected + " but is " + abbreviate(actual.toString()));
    }

    private int asInt(String key, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrongType(key, "an integer", v);
        }
        return v.intValue();
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
