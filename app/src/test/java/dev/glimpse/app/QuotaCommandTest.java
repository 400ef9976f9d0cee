package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse ask --prune quota}: the QuoTA planner's per-frame allocation on the demo model and
 * the example clip (14 x 14 patches per frame), each frame resized to its share's near-square grid
 * by default, reported under {@code pruning.quota}; wrong uses end with one line.
 */
class QuotaCommandTest {

    @TempDir
    static Path dir;
    static Path clip;
    static JsonNode json;

    @BeforeAll
    static void askWithQuota() throws IOException {
        clip = CliRun.repoRoot().resolve("examples").resolve("synth-clip-c20000002.mp4");
        CliRun run = CliRun.glimpse("ask", "--model", model(), "--video", clip.toString(), "--frames", "8", "--prune", "quota",
                "--budget", "32", "--max-new-tokens", "4", "--device", "cpu", "--json", "--trace",
                "What shape was the orange object?");
        assertEquals(0, run.exit(), run.stderr());
        json = new ObjectMapper().readTree(run.stdout());
    }

    private static String model() {
        return CliRun.repoRoot().resolve("models").resolve("glimpse-demo").toString();
    }

    @Test
    void reportsThePlanUnderPruningQuota() {
        JsonNode quota = json.at("/pruning/quota");
        assertEquals("quota+bilinear", json.at("/pruning/plan").asText());
        assertFalse(quota.get("capped_at_frame_tokens").asBoolean(), quota.toString());
        assertEquals(256, quota.get("total_budget").asInt(), quota.toString());
        assertEquals(8, quota.get("frame_probabilities").size());
        assertEquals(8, quota.get("frame_budgets").size());
        assertTrue(quota.get("decouple_ms").asDouble() > 0 && quota.get("score_ms").asDouble() > 0, quota.toString());
        assertTrue(quota.get("scoring_text").asText().endsWith("Answer with the option's letter directly."));
    }

    @Test
    void eachFrameIsResizedToTheNearSquareGridOfItsShare() {
        JsonNode budgets = json.at("/pruning/quota/frame_budgets");
        int sum = 0;
        int kept = 0;
        JsonNode frames = json.at("/trace/stages/0/frames");
        assertEquals("bilinear", json.at("/trace/stages/0/strategy").asText());
        assertEquals(8, frames.size());
        for (JsonNode f : frames) {
            int n = budgets.get(f.get("frame").asInt()).asInt();
            sum += n;
            int h = (int) Math.sqrt(n);
            int w = h;
            if ((h + 1) * w <= n) {
                h++;
            }
            assertEquals(n, f.get("budget").asInt(), f.toString());
            assertEquals(n == 0 ? 14 : h, f.get("rows").asInt(), f.toString());
            assertEquals(n == 0 ? 14 : w, f.get("cols").asInt(), f.toString());
            assertEquals(h * w, f.get("kept").size(), f.toString());
            kept += h * w;
        }
        assertTrue(sum <= 256 && sum >= 256 - 8, budgets.toString());
        assertEquals(kept, json.at("/tokens/visual/projector/kept").asInt(), json.toString());
    }

    @Test
    void theTraceCarriesTheFrameProbabilities() {
        JsonNode scores = json.at("/trace/stages/0/frameScores");
        JsonNode p = json.at("/pruning/quota/frame_probabilities");
        assertEquals(8, scores.size());
        for (int t = 0; t < 8; t++) {
            assertEquals(p.get(t).asDouble(), scores.get(t).asDouble(), 0.0);
        }
    }

    @Test
    void quotaWithASelectorKeepsEachShareWithIt() throws IOException {
        CliRun run = CliRun.glimpse("ask", "--model", model(), "--video", clip.toString(), "--frames", "4", "--prune", "quota+vtc-cls",
                "--budget", "200/video", "--max-new-tokens", "1", "--device", "cpu", "--json", "q");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode out = new ObjectMapper().readTree(run.stdout());
        assertEquals("quota+vtc-cls", out.at("/pruning/plan").asText());
        assertEquals(200, out.at("/pruning/quota/total_budget").asInt());
        assertTrue(out.at("/pruning/quota/capped_at_frame_tokens").asBoolean(), out.toString());
        int sum = 0;
        for (JsonNode n : out.at("/pruning/quota/frame_budgets")) {
            sum += n.asInt();
        }
        assertEquals(sum, out.at("/tokens/visual/projector/kept").asInt(), out.toString());
    }

    @Test
    void quotaOnAnImageIsRefused() {
        CliRun run = CliRun.glimpse("ask", "--model", model(), "--image", CliRun.repoRoot().resolve("examples")
                .resolve("synth-scene-s20000002.png").toString(), "--prune", "quota", "--budget", "32", "--device",
                "cpu", "q");
        run.assertOneLineError("--prune quota plans the frames of a video");
    }

    @Test
    void quotaWithPoolingIsRefused() {
        CliRun run = CliRun.glimpse("ask", "--model", model(), "--video", clip.toString(), "--prune", "quota+pool",
                "--budget", "32", "q");
        run.assertOneLineError("--prune quota keeps each frame's share with bilinear (the default) or a selector");
    }

    @Test
    void quotaWithoutABudgetIsRefused() {
        CliRun run = CliRun.glimpse("ask", "--model", model(), "--video", clip.toString(), "--prune", "quota", "q");
        run.assertOneLineError("--prune quota needs --budget");
    }

    @Test
    void explainDrawsTheQuotaAllocation() throws IOException {
        Path out = dir.resolve("explain");
        CliRun run = CliRun.glimpse("explain", "--model", model(), "--video", clip.toString(), "--frames", "4", "--prune", "quota",
                "--budget", "16", "--device", "cpu", "--out", out.toString(), "--question", "What shape was the orange object?");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode trace = new ObjectMapper().readTree(Files.readString(out.resolve("trace.json")));
        assertEquals(4, trace.at("/stages/0/frameScores").size(), trace.toString());
        assertEquals(4, trace.at("/stages/0/frames").size(), trace.toString());
    }
}
