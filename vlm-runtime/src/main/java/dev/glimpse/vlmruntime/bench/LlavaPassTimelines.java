package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.timeline.KernelRecord;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import dev.glimpse.kernels.cuda.timeline.TimelineFile;
import dev.glimpse.kernels.cuda.timeline.TimelineReport;
import dev.glimpse.kernels.cuda.timeline.TimelineUnavailableException;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
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
 * the very requests the bench's TTFT measures, once they are warm. Per plan (e.g. the full budget
 * and 64 VTC-CLS tokens) the measured request ({@link MeasuredRequest}: the same prompt, pruning
 * plan and session shape as the timed repeats) first runs {@value CudaLlavaBench#WARM_REQUESTS}
 * times unrecorded (op by op, which loads kernels and makes or adopts cuBLASLt plans, then the
 * capture of the prefill graph on the pooled session buffers; the tower's graph likewise), then
 * its next run is recorded as two passes: its visual stage with the plan's hooks (image
 * processing on the host, which the name quantifies as it lengthens the lead, then upload, tower,
 * pruning, projector, tokenize, splice) and its prefill with the first token's argmax; then, for
 * the first plan, one decode step of that session (its fourth: the first runs op by op, the second
 * captures the step graph, the third replays it); then the whole request once more as one pass,
 * prepare to first token, as the TTFT times it (there the prefill's launches overlap the tower,
 * which the split passes separate by a device wait). Each pass's name ends in how many of its
 * kernels ran from CUDA graphs ({@link #graphShare}), so a pass that was not replayed says so.
 * Writes the passes to the file (Chrome trace format, {@link TimelineFile}) and prints each pass's
 * {@code cuda_timeline} line and table.
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

    /**
     * Records the passes of each plan's request ({@code steps} and {@code chunk} as the measured
     * requests had them), writes {@code file} and prints the summaries to {@code out}.
     */
    static void record(KernelTimeline timeline, Path file, LlavaModel model, String shape, String prompt,
                       VisualInput input, List<PruningPlan> plans, int steps, int chunk, PrintStream out) {
        CudaBackend cuda = (CudaBackend) model.backend();
        List<PassTimeline> passes = new ArrayList<>();
        for (PruningPlan plan : plans) {
            for (int i = 0; i < CudaLlavaBench.WARM_REQUESTS; i++) { // op by op, then the graphs' capture
                MeasuredRequest.runToFirstToken(model, prompt, input, plan, steps, chunk);
            }
            try (MeasuredRequest request = new MeasuredRequest(model, prompt, input, plan, steps, chunk)) {
                PassTimeline visual = timeline.record("visual stage", cuda::synchronize, request::prepare);
                String label = label(shape, plan, request.prepared());
                passes.add(named(visual, String.format(Locale.ROOT,
                        "%s: visual stage with the plan's hooks (lead includes %.3f ms of image processing)", label,
                        request.prepared().visuals().preprocessNanos() / 1e6)));
                int[] first = new int[1];
                PassTimeline prefill = timeline.record("prefill", cuda::synchronize,
                        () -> first[0] = request.firstToken());
                passes.add(named(prefill, String.format(Locale.ROOT, "%s: prefill %d rows and first token", label,
                        request.prepared().inputIds().length)));
                if (plan == plans.getFirst()) {
                    passes.add(decodeStep(timeline, cuda, request.session(), first[0], shape));
                }
            }
            MeasuredRequest[] whole = new MeasuredRequest[1];
            try {
                PassTimeline pass = timeline.record("request", cuda::synchronize, () -> {
                    whole[0] = new MeasuredRequest(model, prompt, input, plan, steps, chunk);
                    whole[0].prepare();
                    whole[0].firstToken();
                });
                passes.add(named(pass, String.format(Locale.ROOT,
                        "%s: whole request to first token, as the TTFT times it (lead includes %.3f ms of image "
                                + "processing)", label(shape, plan, whole[0].prepared()),
                        whole[0].prepared().visuals().preprocessNanos() / 1e6)));
            } finally {
                if (whole[0] != null) {
                    whole[0].close();
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

    /** "{@code shape} {@code plan} at N visual tokens": what a pass of the plan's request belongs to. */
    private static String label(String shape, PruningPlan plan, PreparedPrompt prepared) {
        return String.format(Locale.ROOT, "%s %s at %d visual tokens", shape, plan.describe(),
                prepared.visuals().visualTokens());
    }

    /** The session's decode step after {@value #DECODE_STEPS_BEFORE} unrecorded ones (eager, capture, replay). */
    private static PassTimeline decodeStep(KernelTimeline timeline, CudaBackend cuda, DecoderSession session, int token,
                                           String shape) {
        int next = token;
        for (int i = 0; i < DECODE_STEPS_BEFORE; i++) {
            session.decode(next);
            next = session.greedyToken();
        }
        int last = next;
        PassTimeline step = timeline.record("decode step", cuda::synchronize, () -> {
            session.decode(last);
            session.greedyToken();
        });
        return named(step, shape + " decode step");
    }

    /** {@code pass} under {@code name}, followed by its {@link #graphShare} in brackets. */
    static PassTimeline named(PassTimeline pass, String name) {
        return new PassTimeline(name + " [" + graphShare(pass.kernels()) + "]", pass.hostStartNs(), pass.hostEndNs(),
                pass.kernels());
    }

    /**
     * How many of {@code kernels} ran as nodes of a CUDA graph ({@link KernelRecord#graphId} not 0),
     * in words: whether a recorded pass was the replay the measured one was.
     */
    static String graphShare(List<KernelRecord> kernels) {
        if (kernels.isEmpty()) {
            return "no kernels";
        }
        long inGraphs = kernels.stream().filter(k -> k.graphId() != 0).count();
        if (inGraphs == kernels.size()) {
            return "all " + count(inGraphs) + " from CUDA graphs";
        }
        if (inGraphs == 0) {
            return "no CUDA graph: " + count(kernels.size()) + " launched one by one";
        }
        return inGraphs + " of " + count(kernels.size()) + " from CUDA graphs";
    }

    private static String count(long kernels) {
        return kernels + (kernels == 1 ? " kernel" : " kernels");
    }
}
