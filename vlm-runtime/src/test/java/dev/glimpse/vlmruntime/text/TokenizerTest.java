package dev.glimpse.vlmruntime.text;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Encodings of two hand-made tokenizers, derived by hand from their vocabularies and merges:
 * a Llama-style BPE (Prepend/Replace normaliser, byte fallback, TemplateProcessing adding {@code <s>})
 * and a Qwen2-style byte-level BPE (no special tokens added).
 */
class TokenizerTest {

    static Tokenizer llama;
    static Tokenizer qwen;

    static Path folder(String name) {
        try {
            return Path.of(TokenizerTest.class.getResource("/tokenizers/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void load() {
        llama = Tokenizer.load(folder("llama-style"));
        qwen = Tokenizer.load(folder("qwen2-style"));
    }

    @AfterAll
    static void close() {
        llama.close();
        qwen.close();
    }

    @Test
    void llamaStylePrependsMetaspaceAndMergesWholeWord() {
        assertArrayEquals(new int[]{14}, llama.encode("hello", false));
        assertArrayEquals(new int[]{14, 5, 15, 9, 16, 8, 17}, llama.encode("hello world", false));
    }

    @Test
    void llamaStyleAddsBosOnlyWhenAsked() {
        assertArrayEquals(new int[]{1, 14}, llama.encode("hello", true));
    }

    @Test
    void llamaStyleFallsBackToBytes() {
        assertArrayEquals(new int[]{5, 3, 4}, llama.encode("é", false));
        assertEquals("é", llama.decode(new int[]{5, 3, 4}, true));
    }

    @Test
    void addedSpecialTokenIsMatchedBeforeTheModel() {
        assertArrayEquals(new int[]{18, 14}, llama.encode("<image>hello", false));
        assertArrayEquals(new int[]{22, 11}, qwen.encode("<image>hello", false));
    }

    @Test
    void decodeSkipsSpecialTokensOnRequest() {
        assertEquals("hello world", llama.decode(new int[]{1, 14, 5, 15, 9, 16, 8, 17}, true));
        assertEquals("hello", qwen.decode(new int[]{20, 11, 21}, true));
        assertEquals("<|im_start|>hello<|im_end|>", qwen.decode(new int[]{20, 11, 21}, false));
    }

    @Test
    void qwenStyleByteLevelAddsNothing() {
        assertArrayEquals(new int[]{11, 16}, qwen.encode("hello world", false));
        assertArrayEquals(new int[]{11, 16}, qwen.encode("hello world", true));
        assertArrayEquals(new int[]{17, 18}, qwen.encode("é", false));
    }

    @Test
    void tokenLookupsCoverModelAndAddedTokens() {
        assertEquals(OptionalInt.of(14), llama.tokenToId("▁hello"));
        assertEquals(18, llama.requireId("<image>"));
        assertEquals(Optional.of("<|im_end|>"), qwen.idToToken(21));
        assertTrue(qwen.isSpecial(21));
        assertEquals(23, qwen.vocabSize());
    }

    @Test
    void specialTokensComeFromTokenizerConfig() {
        assertEquals(Optional.of("<s>"), llama.specialTokens().bos());
        assertEquals(Optional.of("</s>"), llama.specialTokens().eos());
        assertEquals(Optional.of("<unk>"), llama.specialTokens().pad());
        assertEquals(Optional.empty(), qwen.specialTokens().bos());
        assertEquals(Optional.of("<|im_end|>"), qwen.specialTokens().eos());
        assertTrue(qwen.specialTokens().all().contains("<image>"));
    }

    @Test
    void streamingDecodeHoldsBackIncompleteUtf8() {
        StreamingDecoder d = qwen.streamingDecoder(true);
        assertEquals("hello", d.push(11));
        assertEquals("", d.push(17));
        assertEquals("é", d.push(18));
        assertEquals(" world", d.push(16));
        assertEquals("", d.flush());
    }

    @Test
    void streamingDecodeMatchesFullDecodeForMetaspace() {
        int[] ids = {1, 14, 5, 15, 9, 16, 8, 17, 5, 3, 4};
        StreamingDecoder d = llama.streamingDecoder(true);
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(d.push(id));
        }
        text.append(d.flush());
        assertEquals(llama.decode(ids, true), text.toString());
        assertEquals("hello world é", text.toString());
    }
}
