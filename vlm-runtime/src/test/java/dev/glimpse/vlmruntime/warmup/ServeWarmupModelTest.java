package dev.glimpse.vlmruntime.warmup;

import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ServeWarmup} through the real request path on the CPU (the LLaVA fixture, its tokenizer and chat
 * template): every synthetic request stops after one token but the decode one, the question filler lands the
 * prompts in consecutive row buckets of 16, the buckets it reports are the rows those prompts had, and none is
 * reported as a graph (CPU prefills replay none, so each bucket takes one request).
 */
class ServeWarmupModelTest {

    @Test
    void theRequestsLandInTheBucketsItReportsAndStopAfterOneToken() {
        try (SavedProperties saved = SavedProperties.of(DecoderSession.PREFILL_PAD_ROWS_PROPERTY);
             VisionLanguageModel vlm = Glimpse.load(DecoderFixture.folder("llava-clip-llama-bf16"),
                     LoadOptions.defaults().withDevice(Backends.Choice.CPU))) {
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, "16");
            WarmupTarget model = WarmupTarget.of(vlm);
            List<Answer> answers = new ArrayList<>();
            WarmupTarget recording = new WarmupTarget() {
                @Override
                public Answer ask(Media media, String question, AskOptions options) {
                    Answer a = model.ask(media, question, options);
                    answers.add(a);
                    return a;
                }

                @Override
                public int imageSize() {
                    return model.imageSize();
                }

                @Override
                public int vocabSize() {
                    return model.vocabSize();
                }

                @Override
                public int textTokens(String text) {
                    return model.textTokens(text);
                }

                @Override
                public boolean graphsPrefillOf(int rows) {
                    return model.graphsPrefillOf(rows);
                }
            };
            WarmupReport report = ServeWarmup.run(recording, new WarmupSettings(Duration.ofSeconds(300),
                    "Describe the image.", "vtc-cls", List.of(8), 40, 16), () -> false);
            assertEquals(WarmupReport.Outcome.COMPLETE, report.outcome(), report.summary());
            assertEquals(answers.size(), report.requests());
            for (Answer a : answers.subList(0, answers.size() - 1)) {
                assertEquals(1, a.counts().generated(), "a warm-up request stops after its first token");
            }
            assertEquals(ServeWarmup.DECODE_TOKENS, answers.getLast().counts().generated(), "the decode request");
            List<Integer> promptRows = answers.stream().map(a -> (a.counts().prompt() + 15) / 16 * 16).toList();
            for (WarmupReport.Bucket b : report.buckets()) {
                assertTrue(promptRows.contains(b.rows()) && b.rows() == (b.promptTokens() + 15) / 16 * 16, b.toString());
            }
            assertTrue(report.rows(WarmupReport.Kind.GRAPH).isEmpty(), "CPU prefills replay no graph: " + report.summary());
            List<Integer> full = report.buckets().stream().filter(b -> b.setting().equals("full"))
                    .map(WarmupReport.Bucket::rows).toList();
            for (int i = 1; i < full.size(); i++) {
                assertEquals(full.get(i - 1) + 16, full.get(i), "consecutive buckets: " + report.summary());
            }
            assertTrue(full.size() >= 3, report.summary());
        }
    }
}
