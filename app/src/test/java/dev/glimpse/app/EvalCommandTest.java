package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse eval synth} on the llava-clip-llama fixture (random weights: the answers are
 * wrong, the mechanics are what is tested) and {@code glimpse eval synth-export}.
 */
class EvalCommandTest {

    static Path model;

    @BeforeAll
    static void findFixture() {
        model = CliRun.fixture("llava-clip-llama");
    }



    @Test
    void evalSynthRunsEveryConfigurationAndWritesTheReport(@TempDir Path out) throws IOException {
        CliRun r = CliRun.glimpse("eval", "synth", "--model", model.toString(), "--limit", "3", "--frames", "4",
                "--prune", "vtc-cls,random", "--budget", "50%", "--max-new-tokens", "3", "--device", "cpu",
                "--out", out.toString());
        assertEquals(0, r.exit(), r.stderr());
        List<String> lines = Files.readAllLines(out.resolve("results.jsonl"));
        assertEquals(6 * 3, lines.size());
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            if (n.get("config").asText().equals("vtc-cls@50%")) {
                assertTrue(n.get("visual_tokens_kept").asDouble() < n.get("visual_tokens").asInt(), line);
                assertTrue(n.get("flops_ratio").asDouble() < 1, line);
            }
        }
        assertTrue(Files.readString(out.resolve("results.md")).contains("| vtc-cls | 50% | 6 |"));
        assertTrue(Files.size(out.resolve("accuracy_vs_tokens.png")) > 1000);
        assertTrue(r.stdout().contains("| none | - | 6 |"), r.stdout());

        CliRun again = CliRun.glimpse("eval", "synth", "--model", model.toString(), "--limit", "3", "--frames", "4",
                "--prune", "vtc-cls,random", "--budget", "50%", "--max-new-tokens", "3", "--device", "cpu",
                "--out", out.toString());
        assertEquals(0, again.exit(), again.stderr());
        assertTrue(again.stdout().contains("0 answers now, 18 from an earlier run"), again.stdout());
    }

    @Test
    void evalSynthRunsQuotaOnTheDemoModelAndReportsIt(@TempDir Path out) throws IOException {
        String demo = CliRun.repoRoot().resolve("models").resolve("glimpse-demo").toString();
        CliRun r = CliRun.glimpse("eval", "synth", "--model", demo, "--limit", "1", "--frames", "4",
                "--prune", "quota,quota+vtc-cls", "--budget", "25%", "--max-new-tokens", "3", "--device", "cpu",
                "--out", out.toString());
        assertEquals(0, r.exit(), r.stderr());
        ObjectMapper json = new ObjectMapper();
        java.util.Map<String, Integer> rows = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            JsonNode n = json.readTree(line);
            rows.merge(n.get("config").asText(), 1, Integer::sum);
            if (n.get("config").asText().startsWith("quota") && n.get("kind").asText().equals("clip")) {
                // 4 frames x 196 patches, 25% each: QuoTA splits N = 4 x 49 = 196 tokens over the frames
                assertEquals(4 * 196, n.get("visual_tokens").asInt(), line);
                assertTrue(n.get("visual_tokens_kept").asDouble() <= 196, line);
                assertTrue(n.get("flops_ratio").asDouble() < 1, line);
            }
        }
        assertEquals(java.util.Map.of("none", 2, "quota+bilinear@25%", 2, "quota+vtc-cls@25%", 2), rows);
        assertTrue(r.stdout().contains("| quota+bilinear | 25% | 2 |"), r.stdout());
        assertTrue(r.stdout().contains("| quota+vtc-cls | 25% | 2 |"), r.stdout());
    }

    @Test
    void evalSynthSweepsPositionModesAndRecordsThemInRowsAndTable(@TempDir Path out) throws IOException {
        CliRun r = CliRun.glimpse("eval", "synth", "--model", model.toString(), "--kind", "images", "--limit", "2",
                "--prune", "random", "--budget", "50%", "--positions", "original,contiguous", "--max-new-tokens", "2",
                "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.exit(), r.stderr());
        ObjectMapper json = new ObjectMapper();
        java.util.Map<String, String> positions = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("results.jsonl"))) {
            JsonNode n = json.readTree(line);
            positions.put(n.get("config").asText(), n.get("positions").asText());
        }
        assertEquals(java.util.Map.of("none", "default", "random@50%/original", "original",
                "random@50%/contiguous", "contiguous"), positions);
        assertTrue(r.stdout().contains("| random (original positions) | 50% |"), r.stdout());
        assertTrue(r.stdout().contains("| random (contiguous positions) | 50% |"), r.stdout());
    }

    @Test
    void evalSynthWithoutAModelIsAOneLineError(@TempDir Path out) {
        // no models/glimpse-demo under this home
        CliRun r = CliRun.withHome(out, () -> CliRun.glimpse("eval", "synth", "--out", out.toString()));
        assertEquals(1, r.exit());
        assertTrue(r.stderr().startsWith("glimpse: no model"), r.stderr());
        assertEquals(1, r.stderr().strip().lines().count());
    }

    @Test
    void synthExportWritesMediaAndOneRowPerQuestion(@TempDir Path out) throws IOException {
        CliRun r = CliRun.glimpse("eval", "synth-export", "--split", "validation", "--count", "2", "--out", out.toString());
        assertEquals(0, r.exit(), r.stderr());
        List<String> lines = Files.readAllLines(out.resolve("validation.jsonl"));
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            assertEquals("validation", n.get("split").asText());
            assertTrue(Files.isRegularFile(out.resolve(n.get("media").asText())), line);
            assertTrue(n.get("truth").isObject());
        }
        assertEquals(2, lines.stream().filter(l -> l.contains("\"type\":\"count_over_time\"")).count());
    }
}
