package dev.glimpse.vlmruntime.text;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Tokenizer} against transformers 5.17 / tokenizers 0.23.2 on every case of the HF-made
 * tokenizer fixtures (fixtures/tokenizers/*, see {@link TokenizerFixtures}): per text and
 * add_special_tokens, the ids, their tokens ({@code convert_ids_to_tokens}) and
 * {@code decode(ids, skip_special_tokens=False/True)} equal HF's exactly; the {@code decode_cases}
 * (ids that are no text's encoding: byte pieces of a character cut short, i.e. invalid UTF-8)
 * decode as HF does; and the streaming decoder's output, concatenated with its flush, equals the
 * full decode for every case in both skip modes.
 *
 * <p>Streaming and invalid UTF-8: HF's {@code decode} renders an incomplete sequence as U+FFFD
 * ({@code String::from_utf8_lossy}). {@link StreamingDecoder} holds a delta back while it ends in
 * U+FFFD, so a sequence still being completed is never emitted early; a sequence that stays
 * invalid is emitted (as the same U+FFFD the full decode has) once a later token ends in a
 * complete character, or by {@link StreamingDecoder#flush()} at the end. So the concatenation
 * still equals the full decode, and {@link #streamingNeverEmitsAReplacementCharTheFullDecodeLacks}
 * checks the other half of the contract: no delta ever contains a U+FFFD that is not in the
 * full decode at that position.
 */
class TokenizerParityTest {

    private static final Map<String, Tokenizer> TOKENIZERS = new HashMap<>();

    static synchronized Tokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, n -> Tokenizer.load(TokenizerFixtures.folder(n)));
    }

    @AfterAll
    static synchronized void close() {
        TOKENIZERS.values().forEach(Tokenizer::close);
        TOKENIZERS.clear();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String name : TokenizerFixtures.NAMES) {
            JsonNode cases = TokenizerFixtures.expected(name).path("cases");
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                out.add(Arguments.of(name, i, TokenizerFixtures.label(c.path("text").textValue())
                        + " special=" + c.path("add_special_tokens").booleanValue(), c));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> decodeCases() {
        List<Arguments> out = new ArrayList<>();
        for (String name : TokenizerFixtures.NAMES) {
            JsonNode cases = TokenizerFixtures.expected(name).path("decode_cases");
            for (int i = 0; i < cases.size(); i++) {
                out.add(Arguments.of(name, i, cases.get(i).path("ids").toString(), cases.get(i)));
            }
        }
        return out.stream();
    }

    /** Every case of both lists: (fixture, ids, HF decode without / with skipping special tokens). */
    static Stream<Arguments> allIdSequences() {
        return Stream.concat(cases(), decodeCases()).map(a -> {
            Object[] v = a.get();
            JsonNode c = (JsonNode) v[3];
            return Arguments.of(v[0], v[2], c);
        });
    }

    @ParameterizedTest(name = "{0} #{1} {2}")
    @MethodSource("cases")
    void encodeAndDecodeEqualHf(String fixture, int index, String label, JsonNode c) {
        Tokenizer tok = tokenizer(fixture);
        int[] want = TokenizerFixtures.ints(c.path("ids"));
        int[] got = tok.encode(c.path("text").textValue(), c.path("add_special_tokens").booleanValue());
        assertArrayEquals(want, got, () -> "ids " + Arrays.toString(got));
        assertAll(
                () -> assertEquals(TokenizerFixtures.strings(c.path("tokens")), tokens(tok, want), "tokens"),
                () -> assertEquals(c.path("decoded").textValue(), tok.decode(want, false), "decode"),
                () -> assertEquals(c.path("decoded_skip_special").textValue(), tok.decode(want, true), "decode skip special"));
    }

    @ParameterizedTest(name = "{0} #{1} {2}")
    @MethodSource("decodeCases")
    void invalidUtf8DecodesAsHf(String fixture, int index, String label, JsonNode c) {
        Tokenizer tok = tokenizer(fixture);
        int[] ids = TokenizerFixtures.ints(c.path("ids"));
        assertAll(
                () -> assertEquals(TokenizerFixtures.strings(c.path("tokens")), tokens(tok, ids), "tokens"),
                () -> assertEquals(c.path("decoded").textValue(), tok.decode(ids, false), "decode"),
                () -> assertEquals(c.path("decoded_skip_special").textValue(), tok.decode(ids, true), "decode skip special"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("allIdSequences")
    void streamingConcatenationEqualsHfDecode(String fixture, String label, JsonNode c) {
        Tokenizer tok = tokenizer(fixture);
        int[] ids = TokenizerFixtures.ints(c.path("ids"));
        for (boolean skip : new boolean[]{false, true}) {
            String want = c.path(skip ? "decoded_skip_special" : "decoded").textValue();
            assertEquals(want, String.join("", stream(tok, ids, skip)), "streamed, skip_special_tokens=" + skip);
        }
    }

    /** Each delta is the full decode's text at that position: no U+FFFD is emitted for a sequence later completed. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("allIdSequences")
    void streamingNeverEmitsAReplacementCharTheFullDecodeLacks(String fixture, String label, JsonNode c) {
        Tokenizer tok = tokenizer(fixture);
        int[] ids = TokenizerFixtures.ints(c.path("ids"));
        for (boolean skip : new boolean[]{false, true}) {
            String full = c.path(skip ? "decoded_skip_special" : "decoded").textValue();
            int at = 0;
            for (String delta : stream(tok, ids, skip)) {
                assertTrue(full.startsWith(delta, at), () -> "delta '" + delta + "' is not the full decode's text there: " + full);
                at += delta.length();
            }
        }
    }

    @Test
    void streamingHoldsBackACutCharacterUntilFlush() {
        // qwen2-bpe: the first two bytes of 漢 (an incomplete sequence); HF decodes them to one U+FFFD.
        Tokenizer tok = tokenizer("qwen2-bpe");
        int[] cut = Arrays.copyOf(tok.encode("漢", false), 2);
        assertEquals("\uFFFD", tok.decode(cut, false));
        StreamingDecoder d = tok.streamingDecoder(false);
        assertEquals("", d.push(cut[0]));
        assertEquals("", d.push(cut[1]));
        assertEquals("\uFFFD", d.flush());
        assertEquals("", d.flush());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void specialAndAddedTokensEqualHf(String fixture) {
        Tokenizer tok = tokenizer(fixture);
        JsonNode want = TokenizerFixtures.expected(fixture);
        assertEquals(want.path("vocab_size_with_added").intValue(), tok.vocabSize());
        want.path("added_tokens").fields().forEachRemaining(e ->
                assertEquals(OptionalInt.of(e.getValue().intValue()), tok.tokenToId(e.getKey()), e.getKey()));
        JsonNode special = want.path("special_tokens");
        SpecialTokens got = tok.specialTokens();
        assertAll(
                () -> assertEquals(Optional.ofNullable(special.path("bos").get(0).textValue()), got.bos(), "bos"),
                () -> assertEquals(Optional.ofNullable(special.path("eos").get(0).textValue()), got.eos(), "eos"),
                () -> assertEquals(Optional.ofNullable(special.path("unk").get(0).textValue()), got.unk(), "unk"),
                () -> assertEquals(Optional.ofNullable(special.path("pad").get(0).textValue()), got.pad(), "pad"));
        for (String key : List.of("bos", "eos", "unk", "pad")) {
            JsonNode pair = special.path(key);
            if (!pair.get(0).isNull()) {
                assertEquals(pair.get(1).intValue(), tok.requireId(pair.get(0).textValue()), key + " id");
            }
        }
    }

    static Stream<String> fixtures() {
        return TokenizerFixtures.NAMES.stream();
    }

    /**
     * transformers 5.17 drops add_bos_token / add_eos_token from tokenizer_config.json whenever a
     * tokenizer.json is present, so the saved post_processor decides (transformers 4.x's
     * LlamaTokenizerFast rebuilt it instead). The variant sets add_bos_token=false and
     * add_eos_token=true; HF still adds {@code <s>} and no {@code </s>}, and so does Glimpse.
     */
    @Test
    void addBosEosInTokenizerConfigAreIgnoredAsInTransformers5() {
        JsonNode config = TokenizerFixtures.read(TokenizerFixtures.folder("llama-bpe-add-eos").resolve("tokenizer_config.json"));
        assertFalse(config.path("add_bos_token").booleanValue());
        assertTrue(config.path("add_eos_token").booleanValue());
        Tokenizer variant = tokenizer("llama-bpe-add-eos");
        Tokenizer plain = tokenizer("llama-bpe");
        assertArrayEquals(plain.encode("Hello world", true), variant.encode("Hello world", true));
        assertEquals(1, variant.encode("Hello world", true)[0]);
        int[] ids = variant.encode("Hello world", true);
        assertTrue(IntStream.of(ids).noneMatch(id -> id == 2), Arrays.toString(ids));
        JsonNode hf = TokenizerFixtures.expected("llama-bpe-add-eos").path("cases");
        JsonNode hfPlain = TokenizerFixtures.expected("llama-bpe").path("cases");
        assertEquals(hfPlain.size(), hf.size());
        for (int i = 0; i < hf.size(); i++) {
            assertEquals(hfPlain.get(i).path("ids"), hf.get(i).path("ids"), "HF ids of the variant, case " + i);
        }
    }

    static List<String> stream(Tokenizer tok, int[] ids, boolean skip) {
        StreamingDecoder d = tok.streamingDecoder(skip);
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(d.push(id));
        }
        deltas.add(d.flush());
        return deltas;
    }

    static List<String> tokens(Tokenizer tok, int[] ids) {
        return IntStream.of(ids).mapToObj(id -> tok.idToToken(id).orElse(null)).toList();
    }
}
