package dev.glimpse.vlmruntime.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process A/B end to end on the CPU backend and the tiny LLaVA fixture (16 visual tokens). */
class InProcessAbTest {

    private static final String LEAN = "glimpse.cuda.towerLean";

    @Test
    void reportsEveryStageVariantAndMetricWithTheBaseAtRatioOne() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        List<String> summary = new ArrayList<>();
        run(false, 3, lines, summary);
        assertEquals(2 * (1 + 3 * 2), lines.size(), "vision (one metric) and three prompts (two), two variants");
        Set<String> seen = new TreeSet<>();
        for (JsonNode line : lines) {
            assertEquals("llava_cuda_ab", line.get("bench").asText());
            assertEquals(4, line.get("rounds").asInt(), "3 rounds asked for, rounded up to a multiple of 2 variants");
            assertEquals("base", line.get("base").asText());
            assertTrue(line.get("min").asDouble() <= line.get("median").asDouble());
            assertTrue(line.get("ratio_q1").asDouble() <= line.get("ratio_median").asDouble());
            assertTrue(line.get("ratio_median").asDouble() <= line.get("ratio_q3").asDouble());
            if (line.get("variant").asText().equals("base")) {
                assertEquals(1.0, line.get("ratio_median").asDouble());
                assertEquals("", line.get("properties").asText());
            } else {
                assertEquals(LEAN + "=true", line.get("properties").asText());
            }
            seen.add(line.get("stage").asText() + "/" + line.get("budget").asText() + "/" + line.get("metric").asText());
        }
        assertEquals(Set.of("vision/null/vision_ms", "prompt/null/ttft_ms", "prompt/8/ttft_ms", "prompt/4/ttft_ms",
                "prompt/null/preprocess_ms", "prompt/8/preprocess_ms", "prompt/4/preprocess_ms"), seen);
        assertEquals(8, lines.stream().filter(l -> l.get("metric").asText().equals("ttft_ms")
                && l.get("budget").asText().equals("8")).findFirst().orElseThrow().get("visual_tokens").asInt());
        assertTrue(summary.stream().anyMatch(s -> s.startsWith("# ttft_ms") && s.contains("lean") && s.contains("x [")),
                String.join("\n", summary));
    }

    @Test
    void stagesAndDecodeStepsAddTheirMetrics() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        run(true, 2, lines, new ArrayList<>());
        Set<String> metrics = new TreeSet<>();
        lines.stream().filter(l -> l.get("stage").asText().equals("prompt")).forEach(l -> metrics.add(l.get("metric").asText()));
        assertEquals(new TreeSet<>(List.of("ttft_ms", "preprocess_ms", "decode_ms_per_token", "prefill_queued_ms", "prepare_ms", "session_ms", "prefill_ms",
                "first_token_ms", "prepare_vision_ms", "prepare_select_ms", "prepare_project_ms")), metrics);
    }

    @Test
    void leavesTheVariantsPropertiesAndTheTowerGraphLimitAsTheyWere() throws Exception {
        run(false, 1, new ArrayList<>(), new ArrayList<>());
        assertNull(System.getProperty(LEAN));
        assertNull(System.getProperty(InProcessAb.TOWER_GRAPH_BYTES_PROPERTY));
    }

    private static void run(boolean stages, int rounds, List<JsonNode> lines, List<String> summary) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        InProcessAb.Settings settings = new InProcessAb.Settings(AbSpec.parse("base=;lean=" + LEAN + "=true"), rounds, 2,
                stages ? 2 : 0, stages, 0, 0);
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            InProcessAb.run(DecoderFixture.folder("llava-clip-llama"), "tiny", Backends.Choice.CPU, "vtc-cls",
                    new int[]{8, 4}, 2, settings, out);
        }
        ObjectMapper mapper = new ObjectMapper();
        for (String line : bytes.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("{")) {
                lines.add(mapper.readTree(line));
            } else {
                summary.add(line);
            }
        }
    }
}
