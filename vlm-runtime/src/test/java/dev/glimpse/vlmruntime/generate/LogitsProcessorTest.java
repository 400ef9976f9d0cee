package dev.glimpse.vlmruntime.generate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.stream.IntStream;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each processor against HF's warper of the same name applied to the same scores. */
class LogitsProcessorTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"temperature_0.7", "top_k_5", "top_p_0.9", "repetition_1.3", "chain_rep1.3_t0.7_k20_p0.8"})
    void processorKeepsTheTokensAndValuesHfKeeps(String name) {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            JsonNode expected = f.expected().get("warped_last_logits").get(name);
            float[] scores = floats(f.expected().get("last_logits"));
            TokenHistory history = new TokenHistory(scores.length);
            history.addAll(f.inputIds());
            LogitsProcessor.Workspace workspace = new LogitsProcessor.Workspace(scores.length);
            for (LogitsProcessor p : processors(name)) {
                p.apply(scores, history, workspace);
            }
            int[] kept = IntStream.range(0, scores.length)
                    .filter(i -> scores[i] != Float.NEGATIVE_INFINITY).toArray();
            assertArrayEquals(ints(expected.get("indices")), kept);
            float[] values = new float[kept.length];
            for (int i = 0; i < kept.length; i++) {
                values[i] = scores[kept[i]];
            }
            assertArrayEquals(floats(expected.get("values")), values, 1e-6f);
        }
    }

    @Test
    void pipelineFollowsHfOrder() {
        GenerationOptions options = GenerationOptions.greedy(1).withRepetitionPenalty(1.1).withSampling(0.5, 7, 0.8, 1);
        assertEquals(List.of(new LogitsProcessor.RepetitionPenalty(1.1f), new LogitsProcessor.Temperature(0.5),
                new LogitsProcessor.TopK(7), new LogitsProcessor.TopP(0.8)), LogitsProcessor.pipeline(options));
        assertEquals(List.of(new LogitsProcessor.RepetitionPenalty(1.1f)),
                LogitsProcessor.pipeline(GenerationOptions.greedy(1).withRepetitionPenalty(1.1)));
    }

    @Test
    void stopStringMatchesOnlyWhenItOverlapsTheNewestToken() {
        StopStrings stop = new StopStrings(List.of("stop"));
        assertEquals("stop", stop.match("st" + "op", 2));
        assertEquals("stop", stop.match("las" + "topper", 3));
        assertEquals("stop", stop.match("s" + "to" + "pped", 3));
        assertEquals(null, stop.match("stop" + "at", 4));
        assertEquals(null, stop.match("st" + "opera" + "tion", 7));
    }

    private static List<LogitsProcessor> processors(String name) {
        return switch (name) {
            case "temperature_0.7" -> List.of(new LogitsProcessor.Temperature(0.7));
            case "top_k_5" -> List.of(new LogitsProcessor.TopK(5));
            case "top_p_0.9" -> List.of(new LogitsProcessor.TopP(0.9));
            case "repetition_1.3" -> List.of(new LogitsProcessor.RepetitionPenalty(1.3f));
            default -> LogitsProcessor.pipeline(GenerationOptions.greedy(1).withRepetitionPenalty(1.3)
                    .withSampling(0.7, 20, 0.8, 0));
        };
    }
}
