package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import dev.glimpse.kernels.cuda.timeline.TimelineFile;
import dev.glimpse.kernels.cuda.timeline.TimelineReport;
import dev.glimpse.kernels.cuda.timeline.TimelineUnavailableException;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code CudaLlavaBench --timeline <file.json>}: the kernel timeline ({@link KernelTimeline}) of
 * the bench's own passes once they are warm, as they ran when measured (CUDA graphs replayed,
 * caches warm): the visual stage of the bare placeholder (image processing on the host, which the
 * pass's name quantifies as it lengthens the lead, then upload, tower, projector, splice), each
 * plan's prefill (e.g. 586 and 74 rows for LLaVA-1.5-7B at the full budget and 64 VTC-CLS tokens)
 * and one decode step of the full-budget session (its fourth: the first runs op by op, the second
 * captures the step graph, the third replays it). Writes them to the file (Chrome trace format,
 * {@link TimelineFile}) and prints each pass's {@code cuda_timeline} line and table.
 */
final class LlavaPassTimelines {

    private static final Logger LOG = LoggerFactory.getLogger(LlavaPassTimelines.class);

    /** Decode steps run before the recorded one: eager, capture, replay. */
    private static final int DECODE_STEPS_BEFORE = 3;

    private LlavaPassTimelines() {
    }

    /**
     * CUPTI started for the whole run, or null (logged: the bench goes on without a timeline) when
     * it cannot start. Call before loading the model, so that its CUDA graphs are instantiated
     * while kernel activity is recorded.
     */
    static KernelTimeline start() {
        try {
            return KernelTimeline.start();
        } catch (TimelineUnavailableException e) {
            LOG.warn("no kernel timeline: {}", e.getMessage());
            return null;
        }
    }

    /** Records the passes, writes {@code file} and prints the summaries to {@code out}. */
    static void record(KernelTimeline timeline, Path file, LlavaModel model, String shape, String prompt,
                       String placeholder, VisualInput input, List<PruningPlan> plans, int chunk, PrintStream out) {
        CudaBackend cuda = (CudaBackend) model.backend();
        List<PassTimeline> passes = new ArrayList<>();
        PreparedPrompt[] vision = new PreparedPrompt[1];
        try {
            PassTimeline pass = timeline.record(shape + " vision", cuda::synchronize, () -> vision[0] = model.prepare(
                    placeholder, input, RequestPruning.of(PruningPlan.none(), cuda, model.config(), input).visualHooks(),
                    false));
            // the image processor runs on the host inside prepare, before the tower's first kernel
            String name = String.format(Locale.ROOT, "%s vision (lead includes %.3f ms of image processing)", shape,
                    vision[0].visuals().preprocessNanos() / 1e6);
            passes.add(new PassTimeline(name, pass.hostStartNs(), pass.hostEndNs(), pass.kernels()));
        } finally {
            if (vision[0] != null) {
                vision[0].close();
            }
        }
        for (PruningPlan plan : plans) {
            boolean decodeToo = plan == plans.getFirst();
            RequestPruning pruning = RequestPruning.of(plan, cuda, model.config(), input);
            try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
                 DecoderSession session = model.decoder().newSession(SessionOptions.of(prepared.inputIds().length
                         + DECODE_STEPS_BEFORE + 8).withPrefillChunkSize(chunk))) {
                String name = String.format(Locale.ROOT, "%s prefill %d rows (%s)", shape, prepared.inputIds().length,
                        plan.describe());
                passes.add(timeline.record(name, cuda::synchronize, () -> session.prefill(prepared.embeddings(),
                        prepared.positions(), pruning.decoderHook(prepared))));
                if (decodeToo) {
                    int token = session.greedyToken();
                    for (int i = 0; i < DECODE_STEPS_BEFORE; i++) {
                        session.decode(token);
                        token = session.greedyToken();
                    }
                    int last = token;
                    passes.add(timeline.record(shape + " decode step", cuda::synchronize, () -> {
                        session.decode(last);
                        session.greedyToken();
                    }));
                }
            }
        }
        try {
            TimelineFile.write(file, passes);
        } catch (IOException e) {
            throw new UncheckedIOException("the kernel timeline could not be written to " + file, e);
        }
        LOG.info("kernel timeline of {} passes written to {}", passes.size(), file);
        TimelineReport.print(passes, null, out);
    }
}
