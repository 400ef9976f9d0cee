package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped demo model (models/glimpse-demo) is the default {@code --model}, and it answers the
 * synthetic benchmark: a regression guard for the model files and for every runtime stage they go
 * through (preprocessing, ViT, projector, decoder, tokenizer, chat template).
 */
class DemoModelTest {

    /** The repository root: the launcher's glimpse.home. */
    private static final Path REPO = CliRun.repoRoot();

    @Test
    void askWithoutModelUsesTheDemoModel() {
        CliRun r = CliRun.withHome(REPO, () -> CliRun.glimpse("ask", "--device", "cpu", "--image",
                REPO.resolve("examples/synth-scene-s20000002.png").toString(), "What color is the star?"));
        assertEquals(0, r.exit(), r.stderr());
        assertEquals("blue", r.stdout().strip());
    }

    /**
     * 60 test-split image questions, unpruned: the model scored 93.6% on 4,602 validation questions
     * when trained; far below that means the model or the runtime broke.
     */
    @Test
    void demoModelAnswersTheBenchmark(@TempDir Path out) throws IOException {
        CliRun r = CliRun.withHome(REPO, () -> CliRun.glimpse("eval", "synth", "--kind", "images", "--limit", "60",
                "--prune", "none", "--device", "cpu", "--out", out.toString()));
        assertEquals(0, r.exit(), r.stderr());
        ObjectMapper json = new ObjectMapper();
        List<String> rows = Files.readAllLines(out.resolve("results.jsonl"));
        assertEquals(60, rows.size());
        long correct = 0;
        for (String row : rows) {
            JsonNode n = json.readTree(row);
            correct += n.get("correct").asBoolean() ? 1 : 0;
        }
        assertTrue(correct >= 48, correct + " of 60 correct");
    }

    @Test
    void missingDemoModelIsAOneLineError(@TempDir Path emptyHome) {
        CliRun r = CliRun.withHome(emptyHome, () -> CliRun.glimpse("ask", "--image",
                REPO.resolve("examples/synth-scene-s20000002.png").toString(), "What color is the star?"));
        r.assertOneLineError("the demo model is not at " + emptyHome.resolve(DemoModel.RELATIVE_PATH));
    }
}
