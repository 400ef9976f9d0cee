package dev.glimpse.vlmruntime.llava;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * {@link PlaceholderRuns}: the prompt's ids with the placeholder runs repeated, not tokenized, must be
 * the ids of the text HF's processor tokenizes (each placeholder repeated once per feature row), for
 * every tokenizer a model here ships, at real run lengths; and a placeholder that is not matched as a
 * whole wherever it stands must fall back to tokenizing the expanded text.
 */
class PlaceholderRunsTest {

    /** Prompts as the CLI, the eval harness and the chat templates write them, and some odd ones. */
    private static final List<String> IMAGE_PROMPTS = List.of("USER: <image>\nWhat color is the star? ASSISTANT:",
            "<image>", "<image>describe", "a<image>b", " <image> ", "x <image>\n<image> y", "<image><image>",
            "<|im_start|>user\n<image>\nWhat is shown?<|im_end|>\n<|im_start|>assistant\n", "  \n<image>\n\n  end  ");

    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16", "llava-siglip-qwen2", "llava-onevision-qwen2",
            "tokenizers/llama-bpe", "tokenizers/qwen2-bpe", "tokenizers/llama-bpe-add-eos"})
    void runsOfCopiesGiveTheIdsOfTheExpandedText(String fixture) {
        try (Tokenizer tokenizer = Tokenizer.load(DecoderFixture.folder(fixture))) {
            assertRunsGiveTheIdsOfTheExpandedText(fixture, tokenizer, true);
        }
    }

    /**
     * Tokenizer configurations a user's checkpoint may carry that no fixture ships: llava-hf's
     * LLaVA-1.5 tokenizer.json (converted with the legacy Llama tokenizer: a {@code Prepend "▁"}
     * and space {@code Replace} normalizer, no pre-tokenizer), Metaspace prepending to every section,
     * and a placeholder added with {@code normalized}, {@code lstrip}, {@code rstrip} or not special.
     * Each gives the expanded text's ids. A normalized placeholder under the legacy normalizer is itself
     * normalized to {@code "▁<image>"}, so only a copy after a space or at the start matches: its runs
     * are not copies, the probe must see that and the text is tokenized in full.
     */
    @ParameterizedTest
    @ValueSource(strings = {"legacy-llama", "legacy-llama normalized", "metaspace-always", "metaspace normalized",
            "metaspace lstrip", "metaspace rstrip", "metaspace lstrip rstrip", "metaspace not-special",
            "qwen2 normalized", "qwen2 lstrip rstrip", "qwen2 not-special"})
    void runsOfCopiesGiveTheIdsOfTheExpandedTextUnderOtherConfigurations(String variant, @TempDir Path dir)
            throws IOException {
        List<String> words = List.of(variant.split(" "));
        String base = words.getFirst().startsWith("qwen2") ? "tokenizers/qwen2-bpe" : "tokenizers/llama-bpe";
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(DecoderFixture.folder(base).resolve("tokenizer.json").toFile());
        if (words.getFirst().equals("legacy-llama")) {
            root.set("normalizer", json.readTree("{\"type\": \"Sequence\", \"normalizers\": ["
                    + "{\"type\": \"Prepend\", \"prepend\": \"\u2581\"},"
                    + "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}]}"));
            root.putNull("pre_tokenizer");
        } else if (words.getFirst().equals("metaspace-always")) {
            ((ObjectNode) root.get("pre_tokenizer")).put("prepend_scheme", "always");
        }
        root.withArray("added_tokens").forEach(t -> {
            if ("<image>".equals(t.path("content").asText()) || "<video>".equals(t.path("content").asText())) {
                ObjectNode token = (ObjectNode) t;
                token.put("normalized", words.contains("normalized"));
                token.put("lstrip", words.contains("lstrip"));
                token.put("rstrip", words.contains("rstrip"));
                token.put("special", !words.contains("not-special"));
            }
        });
        Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertRunsGiveTheIdsOfTheExpandedText(variant, tokenizer, !variant.equals("legacy-llama normalized"));
        }
    }

    private static void assertRunsGiveTheIdsOfTheExpandedText(String fixture, Tokenizer tokenizer, boolean compact) {
        int image = tokenizer.requireId("<image>");
        int video = tokenizer.tokenToId("<video>").orElse(-1);
        PlaceholderRuns runs = PlaceholderRuns.probe(tokenizer, "<image>", image, "<video>", video);
        assertEquals(compact, runs.compact(), fixture + ": whether its placeholders tokenize as runs of copies");
        for (String prompt : IMAGE_PROMPTS) {
            int placeholders = prompt.split("<image>", -1).length - 1;
            for (int rows : new int[]{1, 2, 64, 576}) {
                int[] imageRows = new int[placeholders];
                for (int i = 0; i < placeholders; i++) {
                    imageRows[i] = rows + i;
                }
                String expanded = expandImages(prompt, imageRows);
                for (boolean special : new boolean[]{true, false}) {
                    assertArrayEquals(tokenizer.encode(expanded, special),
                            runs.encode(prompt, () -> expanded, imageRows, 0, special),
                            fixture + ": '" + prompt + "' with runs of " + rows);
                }
            }
        }
        if (video >= 0) {
            String prompt = "<|im_start|>user\n<video>\nWhat happens in the video?<|im_end|>\n<|im_start|>assistant\n";
            String expanded = prompt.replace("<video>", "<video>".repeat(6273));
            assertArrayEquals(tokenizer.encode(expanded, true), runs.encode(prompt, () -> expanded, new int[0], 6273, true),
                    fixture + ": a 32-frame OneVision video's 6,273 rows");
        }
    }

    @Test
    void aPlaceholderThatIsNoAddedTokenIsTokenizedInFull() {
        try (Tokenizer tokenizer = Tokenizer.load(DecoderFixture.folder("tokenizers/llama-bpe"))) {
            int id = tokenizer.requireId("<image>");
            assertFalse(PlaceholderRuns.runsAreCopies(tokenizer, "[IMG]", id));
            PlaceholderRuns runs = PlaceholderRuns.probe(tokenizer, "[IMG]", id, "<video>", -1);
            assertFalse(runs.compact());
            String expanded = "USER: " + "[IMG]".repeat(5) + "\nhi";
            assertArrayEquals(tokenizer.encode(expanded, true),
                    runs.encode("USER: [IMG]\nhi", () -> expanded, new int[]{5}, 0, true));
        }
    }

    /** single_word: the token matches only between non-word characters, so copies and context interact. */
    @Test
    void aSingleWordPlaceholderFailsTheProbe(@TempDir Path dir) throws IOException {
        Path source = DecoderFixture.folder("tokenizers/llama-bpe").resolve("tokenizer.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(source.toFile());
        root.withArray("added_tokens").forEach(t -> {
            if ("<image>".equals(t.path("content").asText())) {
                ((ObjectNode) t).put("single_word", true);
            }
        });
        Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(root));
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertFalse(PlaceholderRuns.runsAreCopies(tokenizer, "<image>", tokenizer.requireId("<image>")));
        }
    }

    @Test
    void placeholderIdsTheCallerDoesNotExpectFallBackToTheFullText() {
        try (Tokenizer tokenizer = Tokenizer.load(DecoderFixture.folder("llava-clip-llama"))) {
            int image = tokenizer.requireId("<image>");
            PlaceholderRuns runs = PlaceholderRuns.probe(tokenizer, "<image>", image, "<video>", -1);
            String prompt = "<image> and <image>";
            String expanded = "<image><image><image> and <image>";
            // one run given where the text holds two placeholders: the full text's ids, which the caller's checks reject
            assertArrayEquals(tokenizer.encode(expanded, true), runs.encode(prompt, () -> expanded, new int[]{3}, 0, true));
        }
    }

    private static String expandImages(String prompt, int[] rows) {
        StringBuilder out = new StringBuilder();
        String[] parts = prompt.split("<image>", -1);
        for (int i = 0; i < parts.length; i++) {
            out.append(parts[i]);
            if (i < rows.length) {
                out.append("<image>".repeat(rows[i]));
            }
        }
        return out.toString();
    }
}
