package dev.glimpse.kernels.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The persistent cuBLASLt choice cache: what one process stores another reads back; unusable files
 * (corrupt, truncated, foreign, mistyped) are reported once by name and treated as absent, then
 * rewritten; writes are atomic and merge with what another process wrote; the file is bounded and
 * named for the GPU and library versions. CPU-only: no cuBLASLt call is made.
 */
class LtChoiceStoreTest {

    private static final LtChoiceStore.Identity H200 = new LtChoiceStore.Identity("NVIDIA H200", 9, 0, 130100, 13000, 13000);
    private static final String KEY = "128x4096x4096 BF16 ldw 4096 batch 1 strides 0/0/0 out F32 bias F32 align 256/256/256";

    @TempDir
    Path dir;

    private final List<String> warnings = new ArrayList<>();

    private LtChoiceStore store(Path file) {
        return new LtChoiceStore(file, H200, warnings::add);
    }

    private static LtAlgoConfig config(int algo) {
        return new LtAlgoConfig(algo, 20, 8, 1, 0, 1, 0, 3, 2,
                List.of(algo * 31L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 0L, 7L, 1L << 40, 5L));
    }

    @Test
    void aRecordedChoiceIsReadBackByAnotherProcess() {
        Path file = dir.resolve("choices.json");
        store(file).record(KEY, config(66));
        assertEquals(Optional.of(config(66)), store(file).get(KEY));
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void anAbsentFileIsEmptyWithoutAWarning() {
        LtChoiceStore store = store(dir.resolve("missing.json"));
        assertEquals(Optional.empty(), store.get(KEY));
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void theWriteLeavesNoTemporaryFileAndCreatesTheDirectory() throws IOException {
        Path file = dir.resolve("glimpse").resolve("choices.json");
        store(file).record(KEY, config(1));
        try (Stream<Path> files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @ParameterizedTest(name = "file {index}: {0}")
    @ValueSource(strings = {
            "",
            "not json {",
            "[1, 2, 3]",
            "{\"format\": 2, \"device\": \"$DEVICE\", \"entries\": {}}",
            "{\"format\": 1, \"device\": \"Tesla V100 sm70, cuBLASLt 120000, CUDA runtime 12000, driver 12000\", \"entries\": {}}",
            "{\"format\": 1, \"device\": \"$DEVICE\", \"entries\": []}",
            "{\"format\": 1, \"device\": \"$DEVICE\", \"entries\": {\"k\": 3}}",
            "{\"format\": 1, \"device\": \"$DEVICE\", \"entries\": {\"k\": {\"algo\": \"66\"}}}",
            "{\"format\": \"1\", \"device\": \"$DEVICE\", \"entries\": {}}",
            "\u0000\u0001binary"})
    void anUnusableFileIsNamedInOneWarningAndRewritten(String content) throws IOException {
        Path file = dir.resolve("choices.json");
        Files.writeString(file, content.replace("$DEVICE", H200.toString()), StandardCharsets.UTF_8);
        LtChoiceStore store = store(file);
        assertEquals(Optional.empty(), store.get(KEY));
        assertEquals(Optional.empty(), store.get("another key"));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains(file.toString()), warnings.getFirst());
        store.record(KEY, config(7));
        assertEquals(1, warnings.size(), "the rewrite does not warn again: " + warnings);
        assertEquals(Optional.of(config(7)), store(file).get(KEY));
        assertEquals(1, warnings.size(), "the rewritten file is valid: " + warnings);
    }

    @Test
    void aTruncatedFileIsIgnored() throws IOException {
        Path file = dir.resolve("choices.json");
        store(file).record(KEY, config(66));
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, whole.length / 2));
        assertEquals(Optional.empty(), store(file).get(KEY));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains(file.toString()));
    }

    @Test
    void anEntryWithTheWrongWordCountOrAnOutOfRangeShapeSpoilsTheFile() throws IOException {
        Path file = dir.resolve("choices.json");
        store(file).record(KEY, config(66));
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(file.toFile());
        ((ObjectNode) root.get("entries").get(KEY)).putArray("words").add(1).add(2);
        json.writeValue(file.toFile(), root);
        assertEquals(Optional.empty(), store(file).get(KEY));
        ObjectNode entry = (ObjectNode) root.get("entries").get(KEY);
        ArrayNode words = entry.putArray("words");
        for (int i = 0; i < LtAlgoConfig.WORDS; i++) {
            words.add(i);
        }
        entry.put("innerShape", 70_000);
        json.writeValue(file.toFile(), root);
        assertEquals(Optional.empty(), store(file).get(KEY));
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(1).contains("uint16"), warnings.get(1));
    }

    @Test
    void anOversizedFileIsIgnoredUnread() throws IOException {
        Path file = dir.resolve("choices.json");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[] {'{'}), LtChoiceStore.MAX_FILE_BYTES); // sparse
        }
        assertEquals(Optional.empty(), store(file).get(KEY));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains(file.toString()) && warnings.getFirst().contains("bytes"), warnings.getFirst());
    }

    @Test
    void twoWritersMergeTheirEntries() {
        Path file = dir.resolve("choices.json");
        LtChoiceStore first = store(file);
        LtChoiceStore second = store(file);
        first.load();
        second.load(); // both read the file before either wrote
        first.record("a", config(1));
        second.record("b", config(2));
        LtChoiceStore reader = store(file);
        assertEquals(Optional.of(config(1)), reader.get("a"));
        assertEquals(Optional.of(config(2)), reader.get("b"));
        assertEquals(Optional.of(config(1)), second.get("a"), "a write adopts what the other process stored");
    }

    @Test
    void theLastWriterOfAKeyWins() {
        Path file = dir.resolve("choices.json");
        LtChoiceStore first = store(file);
        LtChoiceStore second = store(file);
        first.record("a", config(1));
        second.record("a", config(2));
        assertEquals(Optional.of(config(2)), store(file).get("a"));
    }

    @Test
    void theBoundDropsTheLeastRecentlyMeasured() {
        Map<String, LtChoiceStore.Entry> all = new HashMap<>();
        for (int i = 0; i < LtChoiceStore.MAX_ENTRIES + 5; i++) {
            all.put("k" + i, new LtChoiceStore.Entry(config(i), 1_000L + i));
        }
        Map<String, LtChoiceStore.Entry> kept = LtChoiceStore.bounded(all);
        assertEquals(LtChoiceStore.MAX_ENTRIES, kept.size());
        for (int i = 0; i < 5; i++) {
            assertFalse(kept.containsKey("k" + i), "k" + i + " is among the five oldest");
        }
        assertTrue(kept.containsKey("k5"));
        assertTrue(kept.containsKey("k" + (LtChoiceStore.MAX_ENTRIES + 4)));
    }

    @Test
    void aFullFileDropsItsOldestEntryForANewOne() throws IOException {
        Path file = dir.resolve("choices.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode().put("format", LtChoiceStore.FORMAT).put("device", H200.toString());
        ObjectNode entries = root.putObject("entries");
        for (int i = 0; i < LtChoiceStore.MAX_ENTRIES; i++) {
            ObjectNode e = entries.putObject("k" + i).put("algo", i).put("tile", 1).put("stages", 1).put("splitK", 1)
                    .put("reduction", 0).put("swizzle", 0).put("custom", 0).put("innerShape", 0).put("clusterShape", 0)
                    .put("measuredAt", 1_000L + i);
            ArrayNode words = e.putArray("words");
            for (int w = 0; w < LtAlgoConfig.WORDS; w++) {
                words.add(w);
            }
        }
        json.writeValue(file.toFile(), root);
        store(file).record("new", config(5));
        LtChoiceStore reader = store(file);
        assertEquals(LtChoiceStore.MAX_ENTRIES, reader.size());
        assertEquals(Optional.empty(), reader.get("k0"));
        assertTrue(reader.get("k1").isPresent());
        assertEquals(Optional.of(config(5)), reader.get("new"));
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void anUnwritableDirectoryKeepsTheChoicesInMemory() throws IOException {
        Path blocker = Files.writeString(dir.resolve("not-a-directory"), "x");
        LtChoiceStore store = store(blocker.resolve("choices.json"));
        store.record(KEY, config(9));
        assertEquals(Optional.of(config(9)), store.get(KEY));
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void offStoresNothing() {
        LtChoiceStore off = store(null);
        off.record(KEY, config(1));
        assertEquals(Optional.empty(), off.get(KEY));
    }

    @Test
    void theFileIsNamedForTheGpuAndLibraryVersions() {
        assertEquals("cublaslt-nvidia-h200-sm90-lt130100-rt13000-drv13000.json", H200.fileName());
        assertEquals("nvidia-geforce-rtx-4090-24gb", LtChoiceStore.sanitise(" NVIDIA GeForce RTX 4090 (24GB) "));
        assertEquals("etc-passwd", LtChoiceStore.sanitise("../../etc/passwd"));
        assertEquals("gpu", LtChoiceStore.sanitise("///"));
        assertTrue(new LtChoiceStore.Identity("A/B\\C", 8, 9, 1, 2, 3).fileName().matches("[a-z0-9.-]+"));
    }

    @Test
    void thePropertyPicksTheFileOrOffElseTheUserCacheDirectory() {
        assertEquals(Path.of("/tmp/x.json"), LtChoiceStore.resolve("/tmp/x.json", "/xdg", "/home/u", H200));
        assertNull(LtChoiceStore.resolve("off", "/xdg", "/home/u", H200));
        assertNull(LtChoiceStore.resolve("OFF ", "/xdg", "/home/u", H200));
        assertEquals(Path.of("/xdg/glimpse", H200.fileName()), LtChoiceStore.resolve(null, "/xdg", "/home/u", H200));
        assertEquals(Path.of("/home/u/.cache/glimpse", H200.fileName()),
                LtChoiceStore.resolve(null, "relative", "/home/u", H200), "a relative XDG_CACHE_HOME is ignored");
        assertEquals(Path.of("/home/u/.cache/glimpse", H200.fileName()), LtChoiceStore.resolve("", null, "/home/u", H200));
        assertNull(LtChoiceStore.resolve(null, null, null, H200));
    }

    @Test
    void aConfigurationIsEightWordsAndUint16Shapes() {
        assertThrows(IllegalArgumentException.class, () -> new LtAlgoConfig(1, 1, 1, 1, 0, 0, 0, 0, 0, List.of(1L)));
        assertThrows(IllegalArgumentException.class,
                () -> new LtAlgoConfig(1, 1, 1, 1, 0, 0, 0, 65_536, 0, config(1).words()));
        assertThrows(IllegalArgumentException.class,
                () -> new LtAlgoConfig(1, 1, 1, 1, 0, 0, 0, 0, -1, config(1).words()));
    }
}
