package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.VisualInput;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** What the model GPU tests run of CudaLlavaBench: its measured request and its kernel timeline ({@link LlavaPassTimelines}). */
public final class BenchProbe {

    private BenchProbe() {
    }

    /** {@link MeasuredRequest#runToFirstToken} with automatic prefill chunks. */
    public static void runToFirstToken(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, int steps) {
        MeasuredRequest.runToFirstToken(model, prompt, input, plan, steps, 0);
    }

    /** {@link LlavaPassTimelines#record} with automatic prefill chunks. */
    public static void recordTimeline(KernelTimeline timeline, Path file, LlavaModel model, String shape, String prompt,
                                      VisualInput input, List<PruningPlan> plans, int steps, PrintStream out) {
        LlavaPassTimelines.record(timeline, file, model, shape, prompt, input, plans, steps, 0, out);
    }
}
