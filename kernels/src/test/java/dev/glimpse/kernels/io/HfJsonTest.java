package dev.glimpse.kernels.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfJsonTest {

    @TempDir
    Path dir;

    private HfJson json(String text) throws IOException {
        return HfJson.read(Files.writeString(dir.resolve("config.json"), text));
    }

    @Test
    void wrongTypeNamesFileAndNestedKeyPath() throws IOException {
        HfJson root = json("{\"text_config\": {\"hidden_size\": \"big\"}}");
        ConfigException e = assertThrows(ConfigException.class,
                () -> root.optObject("text_config").orElseThrow().requireInt("hidden_size"));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("text_config.hidden_size"),
                e.getMessage());
    }

    @Test
    void missingRequiredKeyNamesTheKey() throws IOException {
        ConfigException e = assertThrows(ConfigException.class, () -> json("{}").requireInt("vocab_size"));
        assertTrue(e.getMessage().contains("'vocab_size' is missing"));
    }

    @Test
    void nullIsNoneAndDistinctFromAbsent() throws IOException {
        HfJson root = json("{\"pad_token_id\": null}");
        assertFalse(root.has("pad_token_id"));
        assertTrue(root.isNull("pad_token_id"));
        assertFalse(root.isNull("bos_token_id"));
        assertEquals(7, root.intOr("pad_token_id", 7));
    }

    @Test
    void intOrListAcceptsBothSpellings() throws IOException {
        assertEquals(List.of(2), json("{\"eos_token_id\": 2}").intOrIntList("eos_token_id"));
        assertEquals(List.of(1, 2), json("{\"eos_token_id\": [1, 2]}").intOrIntList("eos_token_id"));
    }

    @Test
    void fractionalIntIsRejected() throws IOException {
        assertThrows(ConfigException.class, () -> json("{\"n\": 1.5}").requireInt("n"));
    }

    @Test
    void malformedAndDuplicateKeysAreConfigErrors() {
        assertThrows(ConfigException.class, () -> json("{\"a\": 1,"));
        assertThrows(ConfigException.class, () -> json("{\"a\": 1, \"a\": 2}"));
        assertThrows(ConfigException.class, () -> json("[1]"));
        assertThrows(ConfigException.class, () -> HfJson.read(dir.resolve("absent.json")));
    }
}
