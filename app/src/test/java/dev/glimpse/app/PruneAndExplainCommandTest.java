package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse ask --prune ... --budget ...} and {@code glimpse explain} on the llava-clip-llama
 * fixture (4 x 4 patches): counts, FLOPs ratio and trace in the JSON answer, overlay files, and
 * one-line errors for bad flags.
 */
class PruneAndExplainCommandTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path image;

    @BeforeAll
    static void findFixture() {
        model = CliRun.fixture("llava-clip-llama");
        image = model.resolve("shapes_45x61.png");
    }




    @Test
    void askWithVtcClsAtAQuarterReportsTokensKeptFlopsRatioAndTrace() throws IOException {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--device", "cpu",
                "--max-new-tokens", "2", "--prune", "vtc-cls", "--budget", "25%", "--json", "--trace", "What is in the picture?");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(run.stdout());
        JsonNode projector = json.get("tokens").get("visual").get("projector");
        assertEquals(16, projector.get("in").asInt());
        assertEquals(4, projector.get("kept").asInt());
        assertEquals(4, json.get("tokens").get("visual").get("decoder").get("in").asInt());
        JsonNode pruning = json.get("pruning");
        assertEquals("vtc-cls", pruning.get("plan").asText());
        assertEquals(4.0, pruning.get("average_visual_tokens").asDouble());
        assertTrue(pruning.get("flops_ratio").asDouble() < 1, pruning.toString());
        PruningTrace trace = PruningTrace.fromJson(json.get("trace").toString());
        PruningTrace.FrameTrace frame = trace.stages().getFirst().frames().getFirst();
        assertEquals(4, frame.kept().size());
        for (int i = 1; i < frame.kept().size(); i++) {
            PruningTrace.Cell a = frame.kept().get(i - 1);
            PruningTrace.Cell b = frame.kept().get(i);
            assertTrue(a.row() * 4 + a.col() < b.row() * 4 + b.col(), "raster order");
        }
    }

    @Test
    void askWithoutTraceLeavesItOut() throws IOException {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--device", "cpu",
                "--max-new-tokens", "1", "--prune", "uniform", "--budget", "8", "--json", "hi");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(run.stdout());
        assertTrue(json.get("trace") == null);
        assertEquals(8, json.get("tokens").get("visual").get("projector").get("kept").asInt());
    }

    @Test
    void askReportsThePositionsOfEachStageAndTakesPositionsOriginal() throws IOException {
        CliRun byDefault = CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--device",
                "cpu", "--max-new-tokens", "1", "--prune", "vtc-cls", "--budget", "25%", "--json", "hi");
        assertEquals(0, byDefault.exit(), byDefault.stderr());
        JsonNode positions = new ObjectMapper().readTree(byDefault.stdout()).get("pruning").get("positions");
        assertEquals("contiguous", positions.get("prompt").asText());
        assertEquals("original", positions.get("decoder").asText());
        CliRun original = CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--device",
                "cpu", "--max-new-tokens", "1", "--prune", "vtc-cls", "--budget", "25%", "--positions", "original",
                "--json", "hi");
        assertEquals(0, original.exit(), original.stderr());
        assertEquals("original", new ObjectMapper().readTree(original.stdout()).get("pruning").get("positions")
                .get("prompt").asText());
    }

    @Test
    void aBadPositionsValueNamesTheChoices() {
        CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--prune", "vtc-cls",
                "--budget", "8", "--positions", "gapped", "hi").assertOneLineError("original or contiguous");
    }

    @Test
    void anUnknownStrategyListsTheValidNames() {
        CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--prune", "vtc",
                "--budget", "8", "hi").assertOneLineError("none, random, uniform, pool, vtc-cls, fastv, spatten, atp, as-vit");
    }

    @Test
    void aBadBudgetSaysTheAcceptedForms() {
        CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--prune", "vtc-cls",
                "--budget", "lots", "hi").assertOneLineError("e.g. 25%");
    }

    @Test
    void asVitWithoutThresholdsIsOneLine() {
        CliRun.glimpse("ask", "--model", model.toString(), "--image", image.toString(), "--prune", "as-vit",
                "hi").assertOneLineError("--as-vit-thresholds FILE");
    }

    @Test
    void explainWritesTheTraceAndOneUpscaledOverlayPerFrameAndStage() throws IOException {
        Path out = dir.resolve("explain");
        CliRun run = CliRun.glimpse("explain", "--model", model.toString(), "--image", image.toString(), "--device", "cpu",
                "--prune", "vtc-cls", "--budget", "25%", "--out", out.toString());
        assertEquals(0, run.exit(), run.stderr());
        PruningTrace trace = PruningTrace.fromJson(Files.readString(out.resolve("trace.json")));
        assertEquals("vtc-cls", trace.stages().getFirst().name());
        Path png = out.resolve("frame_0000_vtc-cls.png");
        assertEquals(out.resolve("trace.json") + System.lineSeparator() + png + System.lineSeparator(), run.stdout());
        BufferedImage overlay = ImageIO.read(png.toFile());
        assertTrue(overlay.getWidth() >= 2 * TraceOverlay.MIN_SIDE && overlay.getHeight() >= TraceOverlay.MIN_SIDE,
                overlay.getWidth() + "x" + overlay.getHeight());
    }
}
