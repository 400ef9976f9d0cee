package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import dev.glimpse.kernels.cuda.timeline.TimelineFile;
import dev.glimpse.kernels.cuda.timeline.TimelineUnavailableException;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.bench.BenchProbe;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code CudaLlavaBench --timeline} on the BF16 LLaVA fixture, at the full budget and under VTC-CLS:
 * the recorded passes are those of warm requests. Every plan's request first ran to its first token
 * in sessions of another capacity (so its cuBLASLt problems were measured there); recording at the
 * bench's session shape then measures nothing again (no new cuBLASLt choice: a stacked product's
 * choice serves its capacity-sized scratch at any stride) and each plan's prefill and whole request
 * run kernels of CUDA graphs (the prefill graph's replay, after one op-by-op run and one capture).
 * Fails rather than skips when a GPU is here but CUPTI is not.
 */
class CudaLlavaPassTimelinesTest {

    /** Decode steps of the warm-up requests and of the recorded ones: two session capacities. */
    private static final int WARM_UP_STEPS = 1;
    private static final int RECORDED_STEPS = 6;

    @TempDir
    Path dir;

    @Test
    void recordedRequestsReplayTheirGraphsAndMeasureNothingAgain() throws IOException {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of("llava-clip-llama-bf16");
        VisualInput input = fixture.images().getFirst();
        List<PruningPlan> plans = List.of(PruningPlan.none(), PruningPlan.parse("vtc-cls", TokenBudget.count(8)));
        Path file = dir.resolve("timeline.json");
        try (KernelTimeline timeline = start();
             VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            CudaBackend cuda = (CudaBackend) model.backend();
            for (PruningPlan plan : plans) {
                BenchProbe.runToFirstToken(model, fixture.prompt(), input, plan, WARM_UP_STEPS);
            }
            int choices = cuda.ltChoices().size();
            assertTrue(choices > 0, "the fixture's prefill and tower run cuBLASLt products");
            BenchProbe.recordTimeline(timeline, file, model, "fixture", fixture.prompt(), input, plans, RECORDED_STEPS,
                    new PrintStream(OutputStream.nullOutputStream()));
            assertEquals(choices, cuda.ltChoices().size(),
                    "sessions of another capacity measured no cuBLASLt problem again: " + cuda.ltChoices().keySet());
        }
        List<PassTimeline> passes = TimelineFile.read(file);
        // per plan: visual stage, prefill and first token, whole request; the first plan's decode step
        assertEquals(3 * plans.size() + 1, passes.size(), passes.stream().map(PassTimeline::pass).toList().toString());
        Map<String, Long> prefillGraphKernels = new HashMap<>();
        for (PassTimeline pass : passes) {
            System.out.println("TIMELINE PASS " + pass.pass() + ": " + pass.kernels().size() + " kernels");
            assertFalse(pass.kernels().isEmpty(), pass.pass());
            String request = pass.pass().substring(0, Math.max(0, pass.pass().indexOf(':')));
            long inGraphs = inGraphs(pass);
            if (pass.pass().contains(": visual stage")) {
                assertTrue(inGraphs > 0, pass.pass() + ": the tower replays its graph");
            } else if (pass.pass().contains(": prefill")) {
                assertTrue(inGraphs * 2 > pass.kernels().size(), pass.pass() + ": the prefill replays its graph");
                prefillGraphKernels.put(request, inGraphs);
            } else if (pass.pass().contains(": whole request")) {
                assertTrue(inGraphs >= prefillGraphKernels.getOrDefault(request, Long.MAX_VALUE),
                        pass.pass() + ": the tower and the prefill replay their graphs");
            }
        }
        assertEquals(plans.size(), prefillGraphKernels.size(), "one prefill pass per plan: " + prefillGraphKernels);
    }

    private static long inGraphs(PassTimeline pass) {
        return pass.kernels().stream().filter(k -> k.graphId() != 0).count();
    }

    private static KernelTimeline start() {
        try {
            return KernelTimeline.start();
        } catch (TimelineUnavailableException e) {
            return fail("a GPU is here but CUPTI is not usable: " + e.getMessage());
        }
    }
}
