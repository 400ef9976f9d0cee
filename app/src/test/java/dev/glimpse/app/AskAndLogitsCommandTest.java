package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.io.SafetensorsFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse logits} and {@code glimpse ask} on the llava-clip-llama fixture: HF's ids, logits
 * and greedy text; bad input ends with one line on stderr and exit 1.
 */
class AskAndLogitsCommandTest {

    @TempDir
    static Path dir;
    static Path model;
    static JsonNode case0;

    @BeforeAll
    static void findFixture() throws IOException {
        model = CliRun.fixture("llava-clip-llama");
        case0 = new ObjectMapper().readTree(model.resolve("expected.json").toFile()).get("cases").get(0);
    }




    @Test
    void logitsJsonPrintsHfInputIdsAndLastLogits() throws IOException {
        CliRun run = CliRun.glimpse("logits", "--model", model.toString(), "--image", model.resolve("shapes_45x61.png").toString(),
                "--prompt", case0.get("prompt").asText(), "--json");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(run.stdout());
        assertEquals(2, json.size());
        float[] hfIds;
        float[] hfLogits;
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("expected.safetensors"))) {
            hfIds = f.tensor("case0.input_ids").toFloatArray();
            hfLogits = f.tensor("case0.last_logits").toFloatArray();
        }
        JsonNode ids = json.get("input_ids");
        JsonNode logits = json.get("last_logits");
        float[] gotIds = new float[ids.size()];
        for (int i = 0; i < gotIds.length; i++) {
            gotIds[i] = ids.get(i).asInt();
        }
        assertArrayEquals(hfIds, gotIds);
        assertEquals(hfLogits.length, logits.size());
        for (int i = 0; i < hfLogits.length; i++) {
            assertEquals(hfLogits[i], (float) logits.get(i).asDouble(), 1e-3f, "logit " + i);
        }
    }

    /** Case 0's prompt is exactly what the chat template renders for this question (checked against HF's processor). */
    @Test
    void askJsonAnswersWithHfGreedyTextForTheTemplatedPrompt() throws IOException {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image", model.resolve("shapes_45x61.png").toString(),
                "--max-new-tokens", "8", "--device", "cpu", "--json", "What is in the picture?");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(run.stdout());
        assertEquals(case0.get("greedy_ids"), json.get("token_ids"));
        assertEquals(case0.get("greedy_text").asText(), json.get("answer").asText());
        assertEquals(26, json.get("tokens").get("prompt").asInt());
        assertEquals(16, json.get("tokens").get("visual").get("projector").get("kept").asInt());
        assertEquals("max_new_tokens", json.get("stop_reason").asText());
        assertTrue(json.get("prefill_flops").asDouble() > 0);
    }

    /**
     * Without --json the answer streams token by token. The greedy answer starts with two byte-fallback
     * tokens (0x2E, 0x92) that are invalid UTF-8 together: a full decode renders both as U+FFFD, a
     * stream has already printed the '.' when the 0x92 arrives (as HF's TextStreamer would).
     */
    @Test
    void askStreamsThePlainAnswer() {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image", model.resolve("shapes_45x61.png").toString(),
                "--max-new-tokens", "8", "--device", "cpu", "What is in the picture?");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(".\uFFFD" + case0.get("greedy_text").asText().substring(2) + System.lineSeparator(), run.stdout());
    }

    @Test
    void askWithoutModelSaysToPassOne() {
        CliRun.glimpse("ask", "--image", model.resolve("shapes_45x61.png").toString(), "hi").assertOneLineError("--model DIR");
    }

    @Test
    void aBadRuntimeSettingIsOneLineBeforeTheModelLoads() {
        CliRun.withProperty("glimpse.cuda.decodeAhead", "flase", () -> CliRun.glimpse("ask", "--model",
                model.toString(), "--device", "cpu", "--image", model.resolve("shapes_45x61.png").toString(), "hi"))
                .assertOneLineError("-Dglimpse.cuda.decodeAhead must be true or false (blank: true), got 'flase'");
    }

    @Test
    void aMissingImageIsOneLine() {
        CliRun.glimpse("ask", "--model", model.toString(), "--device", "cpu", "--image",
                dir.resolve("missing.png").toString(), "hi").assertOneLineError("missing.png");
    }

    @Test
    void aCorruptImageIsOneLine() throws IOException {
        Path bad = dir.resolve("bad.png");
        byte[] png = Files.readAllBytes(model.resolve("shapes_45x61.png"));
        Files.write(bad, java.util.Arrays.copyOf(png, 60));
        CliRun.glimpse("logits", "--model", model.toString(), "--image", bad.toString(), "--prompt",
                "USER: <image>\nhi ASSISTANT:", "--json").assertOneLineError("bad.png");
    }

    @Test
    void aCheckpointThatIsNotLlavaIsOneLine() {
        Path decoderOnly = model.resolveSibling("decoder-llama");
        CliRun.glimpse("ask", "--model", decoderOnly.toString(), "--device", "cpu", "--image",
                model.resolve("shapes_45x61.png").toString(), "hi").assertOneLineError("model_type");
    }

    @Test
    void aFolderThatIsNoCheckpointIsOneLine() {
        CliRun.glimpse("logits", "--model", dir.toString(), "--image", model.resolve("shapes_45x61.png").toString(),
                "--prompt", "<image>").assertOneLineError("config.json");
    }

    @Test
    void imageAndVideoTogetherIsAUsageError() {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image", "a.png", "--video", "b.mp4", "hi");
        assertEquals(2, run.exit(), run.stderr());
    }
}
