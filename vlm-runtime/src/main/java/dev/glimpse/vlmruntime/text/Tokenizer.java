package dev.glimpse.vlmruntime.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.kernels.io.HfJson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face fast tokenizer loaded from a local {@code tokenizer.json} (through DJL's binding
 * of the Rust {@code tokenizers} library, which never downloads here: DJL runs offline and its
 * native library comes from its jar, extracted by {@link NativeTokenizerLibrary}), plus the special
 * tokens of {@code tokenizer_config.json}.
 *
 * <p>{@code encode(text, true)} applies the {@code post_processor} of tokenizer.json exactly as
 * {@code tokenizer(text)} does in transformers: Llama's {@code TemplateProcessing} adds {@code <s>},
 * Qwen2's {@code ByteLevel} adds nothing. DJL's own defaults (truncation to 512, padding) are
 * turned off. {@code add_bos_token} / {@code add_eos_token} in tokenizer_config.json are ignored,
 * as transformers 5 ignores them: its {@code from_pretrained} drops both keys whenever a
 * tokenizer.json is present ({@code tokenization_utils_base._from_pretrained}), so the saved
 * post_processor alone decides (transformers 4.x's {@code LlamaTokenizerFast} instead rebuilt the
 * post-processor from them; a checkpoint saved by 4.x wrote a matching post_processor anyway).
 */
public final class Tokenizer implements AutoCloseable {

    static {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        NativeTokenizerLibrary.prepare();
    }

    private final Path file;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> vocab;
    private final Map<Integer, String> byId;
    private final Set<Integer> specialIds;
    private final SpecialTokens specialTokens;

    private Tokenizer(Path file, HuggingFaceTokenizer tokenizer, Map<String, Integer> vocab, Set<Integer> specialIds,
                      SpecialTokens specialTokens) {
        this.file = file;
        this.tokenizer = tokenizer;
        this.vocab = Map.copyOf(vocab);
        Map<Integer, String> inverse = new HashMap<>();
        vocab.forEach((token, id) -> inverse.putIfAbsent(id, token));
        this.byId = Map.copyOf(inverse);
        this.specialIds = Set.copyOf(specialIds);
        this.specialTokens = specialTokens;
    }

    /** Loads {@code tokenizer.json} and, when present, {@code tokenizer_config.json} from {@code folder}. */
    public static Tokenizer load(Path folder) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException(file + ": not found (Glimpse needs a fast tokenizer's tokenizer.json)");
        }
        HfJson json = readJson(file);
        Path configFile = folder.resolve("tokenizer_config.json");
        Optional<HfJson> config = Files.isRegularFile(configFile) ? Optional.of(readJson(configFile)) : Optional.empty();
        Map<String, Integer> vocab = new HashMap<>();
        Set<Integer> specialIds = new HashSet<>();
        Set<String> specials = new HashSet<>();
        readModelVocab(json, vocab);
        json.raw("added_tokens").ifPresent(added -> {
            for (JsonNode t : added) {
                vocab.put(t.path("content").asText(), t.path("id").asInt());
                if (t.path("special").asBoolean(false)) {
                    specialIds.add(t.path("id").asInt());
                    specials.add(t.path("content").asText());
                }
            }
        });
        SpecialTokens tokens = config.map(c -> specialTokens(c, specials))
                .orElseGet(() -> new SpecialTokens(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), specials));
        HuggingFaceTokenizer djl;
        try {
            djl = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false", "truncation", "false",
                    "padding", "false", "withOverflowingTokens", "false"));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": cannot load: " + e.getMessage(), e);
        }
        return new Tokenizer(file, djl, vocab, specialIds, tokens);
    }

    /** Token ids of {@code text}; with {@code addSpecialTokens} the post-processor's tokens are added. */
    public int[] encode(String text, boolean addSpecialTokens) {
        return Arrays.stream(tokenizer.encode(text, addSpecialTokens, false).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    /** The text of {@code ids}, as {@code tokenizer.decode(ids, skip_special_tokens=...)} gives it. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    /** A fresh incremental decoder. */
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) {
        return new StreamingDecoder(this, skipSpecialTokens);
    }

    public OptionalInt tokenToId(String token) {
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public Optional<String> idToToken(int id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** The id of {@code token}, which must exist (e.g. {@code "<image>"}). */
    public int requireId(String token) {
        return tokenToId(token).orElseThrow(() -> new TokenizerException(file + ": no token '" + token + "'"));
    }

    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    /** Model vocabulary plus added tokens. */
    public int vocabSize() {
        return byId.size();
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static void readModelVocab(HfJson json, Map<String, Integer> vocab) {
        JsonNode v = json.node().path("model").path("vocab");
        if (v.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                vocab.put(e.getKey(), e.getValue().asInt());
            }
        } else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                vocab.put(v.get(i).path(0).asText(), i);
            }
        } else {
            throw new TokenizerException(json.file() + ": model.vocab is missing");
        }
    }

    private static SpecialTokens specialTokens(HfJson config, Set<String> specials) {
        Set<String> all = new HashSet<>(specials);
        config.optObject("added_tokens_decoder").ifPresent(d -> {
            for (Iterator<Map.Entry<String, JsonNode>> it = d.node().fields(); it.hasNext(); ) {
                JsonNode t = it.next().getValue();
                if (t.path("special").asBoolean(false)) {
                    all.add(t.path("content").asText());
                }
            }
        });
        SpecialTokens tokens = new SpecialTokens(named(config, "bos_token"), named(config, "eos_token"),
                named(config, "pad_token"), named(config, "unk_token"), Set.of());
        tokens.bos().ifPresent(all::add);
        tokens.eos().ifPresent(all::add);
        tokens.pad().ifPresent(all::add);
        tokens.unk().ifPresent(all::add);
        return new SpecialTokens(tokens.bos(), tokens.eos(), tokens.pad(), tokens.unk(), all);
    }

    /** A special token given as a string or as an AddedToken object with {@code content}. */
    static Optional<String> named(HfJson config, String key) {
        return config.raw(key).map(v -> {
            if (v.isTextual()) {
                return v.textValue();
            }
            if (v.isObject() && v.path("content").isTextual()) {
                return v.path("content").textValue();
            }
            throw config.error(key, "should be a string or an object with 'content'");
        });
    }

    private static HfJson readJson(Path file) {
        try {
            return HfJson.read(file);
        } catch (ConfigException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
    }
}
