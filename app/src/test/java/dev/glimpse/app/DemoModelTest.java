package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
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

    /** Tests run in the module folder (app/); the repository root is the launcher's glimpse.home. */
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();

    @Test
    void askWithoutModelUsesTheDemoModel() {
        CliRun r = withHome(REPO, () -> CliRun.glimpse("ask", "--device", "cpu", "--image",
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
        CliRun r = withHome(REPO, () -> CliRun.glimpse("eval", "synth", "--kind", "images", "--limit", "60",
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
        CliRun r = withHome(emptyHome, () -> CliRun.glimpse("ask", "--image",
                REPO.resolve("examples/synth-scene-s20000002.png").toString(), "What color is the star?"));
        r.assertOneLineError("the demo model is not at " + emptyHome.resolve(DemoModel.RELATIVE_PATH));
    }

    private static CliRun withHome(Path home, Supplier<CliRun> run) {
        String old = System.getProperty("glimpse.home");
        System.setProperty("glimpse.home", home.toString());
        try {
            return run.get();
        } finally {
            if (old == null) {
                System.clearProperty("glimpse.home");
            } else {
                System.setProperty("glimpse.home", old);
            }
        }
    }
}
