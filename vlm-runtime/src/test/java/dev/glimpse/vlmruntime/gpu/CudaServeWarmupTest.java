package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphCounters;
import dev.glimpse.vlmruntime.warmup.ServeWarmup;
import dev.glimpse.vlmruntime.warmup.WarmupReport;
import dev.glimpse.vlmruntime.warmup.WarmupSettings;
import dev.glimpse.vlmruntime.warmup.WarmupTarget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * After {@link ServeWarmup} on the BF16 LLaVA fixture (prefills padded to 16 rows, 256-entry capacity buckets, as
 * {@code glimpse serve} runs), a request whose prompt falls in a warmed bucket (another question than the warm-up's,
 * the default max_new_tokens, a fixture picture of another size) measures no cuBLASLt problem and captures no prefill graph: its
 * prefill replays the graph the warm-up captured. Checked for the full visual count and a VTC-CLS budget.
 */
class CudaServeWarmupTest {

    private static final String QUESTION = "Describe the image.";
    private static final int MAX_NEW_TOKENS = 8;

    @Test
    void aRequestOfAWarmedBucketMeasuresNothingAndReplaysItsGraph() {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of("llava-clip-llama-bf16");
        try (SavedProperties saved = SavedProperties.of(DecoderSession.PREFILL_PAD_ROWS_PROPERTY,
                DecoderSession.CAPACITY_BUCKET_PROPERTY, DecoderSession.PREFILL_GRAPHS_PROPERTY)) {
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, "16");
            System.clearProperty(DecoderSession.CAPACITY_BUCKET_PROPERTY);
            System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
            try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(),
                    LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
                CudaBackend cuda = (CudaBackend) vlm.llava().backend();
                WarmupReport report = ServeWarmup.run(WarmupTarget.of(vlm), new WarmupSettings(Duration.ofSeconds(120),
                        QUESTION, "vtc-cls", List.of(8), 32, MAX_NEW_TOKENS), () -> false);
                System.out.println("WARMUP " + report.summary());
                assertEquals(WarmupReport.Outcome.COMPLETE, report.outcome(), report.summary());
                List<Integer> graphs = report.rows(WarmupReport.Kind.GRAPH);
                assertTrue(graphs.size() >= 2, report.summary());
                Media picture = Media.image(PngFixtures.decode(fixture.folder().resolve("shapes_45x61.png")));
                for (PruningPlan plan : List.of(PruningPlan.none(), PruningPlan.parse("vtc-cls", TokenBudget.count(8)))) {
                    Set<String> choices = Set.copyOf(cuda.ltChoices().keySet());
                    PrefillGraphCounters.Snapshot before = PrefillGraphCounters.snapshot();
                    Answer answer = vlm.ask(picture, "What is in the picture, briefly?",
                            new AskOptions(MAX_NEW_TOKENS, Optional.empty(), plan));
                    int rows = (answer.counts().prompt() + 15) / 16 * 16;
                    String what = plan.describe() + ", " + answer.counts().prompt() + " prompt tokens (" + rows + " rows)";
                    assertTrue(graphs.contains(rows), what + " is not in a warmed bucket: " + report.summary());
                    assertEquals(new PrefillGraphCounters.Snapshot(0, 0, 1), PrefillGraphCounters.snapshot().since(before),
                            what + ": the prefill replays the warm-up's graph");
                    assertEquals(choices, Set.copyOf(cuda.ltChoices().keySet()),
                            what + ": no cuBLASLt problem measured or looked up anew");
                    System.out.println("WARMUP matched " + what + ": replayed, nothing measured");
                }
            }
        }
    }
}
