package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Model benchmark, the counterpart of {@code tools/device/bench_hf_llava.py}, on a checkpoint folder
 * from {@code tools/device/make_random_llava.py} loaded through {@link Glimpse#load} on
 * {@code --device} (default cuda). The same prompts and visual token counts as the HF script, random
 * pixels of the tower's size (no resize needed). The first request's vision time and TTFT (cold: the
 * JIT has not compiled the host code yet) are reported as {@code cold_vision_ms} and {@code cold_ttft_ms};
 * then every stage runs in rounds for {@code --warmup-seconds S} (default 5) and at least
 * {@value #MIN_WARM_ROUNDS} rounds, as a serving process would have (on an H200 that had not run the
 * benchmark, 2026-11-29, commit 3ef46c9, the first LLaVA-7B round alone took over 5 s, and after that one
 * round its TTFTs measured 0.5-0.8 ms slower), and each number below is the best of {@code --repeats N}
 * (default 3), each TTFT repeat after
 * {@value #WARM_REQUESTS} more runs of its request at the measured session shape ({@link MeasuredRequest}:
 * op by op, then the prefill graph's capture on the pooled session buffers), so every repeat replays
 * (the warm-up rounds' sessions, of other shapes, leave no graph there: the pool keeps one idle set):
 * <ul>
 *   <li>vision: one image (LLaVA) or the {@code --frames N} video (OneVision, default 32) through the
 *       tower and projector (and the video pooling), timed until the device is idle, the image
 *       processor's host time left out; it includes tokenizing the bare placeholder prompt and
 *       splicing the rows into embeddings, which HF's {@code get_*_features} does not do;</li>
 *   <li>TTFT: the image or video prompt, from the decoded pixels to the first token's id on the host
 *       (upload, tower, pruning, projector, tokenize, splice, prefill, argmax), the processor's
 *       resize/normalize time left out as HF's pixel_values are given ready on the GPU. LLaVA at the
 *       full budget and, with {@code --prune} (default vtc-cls), at each of {@code --budgets}
 *       (default 144,64) visual tokens; OneVision for the video at the full budget. Beside it,
 *       {@code prefill_queued_ms}: when (on the same clock) the host had queued the prefill, nothing
 *       waited for; below the visual stage's device time (tower, pruning, projector) the host was
 *       ahead of the device at the seam between tower and prefill, so no host work there delayed
 *       the first token, and near {@code ttft_ms} less the prefill's device time it was behind;</li>
 *   <li>decode: {@code --steps N} (default 64) greedy steps after that prefill (each a replayed CUDA
 *       graph with the argmax on the device), set against the HBM roofline of reading every decoder
 *       weight byte once per token at {@code --bandwidth-gbs} (default 4800, the H200's).</li>
 * </ul>
 * Prints one JSON line per run and one for the model, then a short summary (TTFT at each budget as a
 * fraction of the full one). {@code --prefill-chunk N} sets the decoder's rows per prefill chunk
 * (default 0: the session's automatic choice, see {@code SessionOptions.prefillRows}).
 * {@code --vision-graphs on|off} sets {@code glimpse.cuda.visionGraphs} (the vision tower replayed
 * from CUDA graphs, default on; reported as {@code vision_graphs}) for A/B runs: the tower's first
 * call of a request shape runs op by op ({@code cold_vision_ms}), its second captures the graph
 * (inside {@code cold_ttft_ms}, the first prompt), later ones replay it, so every warm number replays.
 *
 * <p>{@code --stages} adds one {@code llava_cuda_stages} line per plan: its time to first token split
 * at device waits into prepare, session creation, prefill and first token (best of the repeats), and
 * prepare itself, in separate repeats, at its pre-projector hook ({@link PrepareClock}) into
 * {@code prepare_vision_ms} (upload, tower), {@code prepare_select_ms} (VTC-CLS scoring, top-k and
 * read-backs) and {@code prepare_project_ms} (projector, tokenize, splice). Under
 * {@code -Dglimpse.prepare.overlap} (the default) prepare waits for nothing (VTC-CLS's kept rows are
 * gathered on the device, the selection read back when the prompt closes), so in the TTFT the
 * host's project work, the session's creation and the prefill's launches run while the tower does;
 * {@code prepare_ms}, ended by a wait, is then the tower's device time plus what little host work
 * is left after it, and the split's waits serialise what overlaps (its select stage is scoring and
 * top-k on the device with nothing read back), so the split's sum overstates prepare there.
 *
 * <p>{@code --profile} then loads the model a second time on a {@link ProfilingBackend} that waits
 * for the device after every operation, runs the full-budget prompt once to warm up and once
 * measured, and prints one {@code llava_cuda_profile} line: wall milliseconds of the visual stage
 * (tower, projector, pooling, tokenize, splice) and of the prefill, and per operation (linear by
 * weight shape, attention by heads and head dim) milliseconds and calls in each; the time not in
 * any operation is the host's own work. Each operation's time includes one host wait, so the stage
 * totals run above the unprofiled TTFT.
 *
 * <p>{@code --timeline <file.json>} records, after the measurements, which kernels each plan's
 * measured request ran on the GPU and when, once warm as in its measured repeats: its visual stage
 * with the plan's hooks, its prefill and first token, the whole request, and one decode step
 * ({@link LlavaPassTimelines}: CUPTI, started before the model loads; without CUPTI a warning and
 * no timeline), writes them as a Chrome trace and prints per pass one {@code cuda_timeline} line
 * and a per-layer table of kernel and gap time.
 *
 * <p>{@code --ab "base=;lean=glimpse.cuda.towerLean=true"} runs, instead of the above, an A/B of
 * property variants inside this one JVM on one loaded model ({@link InProcessAb}, {@link AbSpec}):
 * {@code --ab-rounds N} (default 30) rounds in rotated order after {@code --ab-warmup N} (default 3)
 * calls per variant and stage, {@code --ab-steps N} (default 0) decode steps per prompt, the split
 * of {@code --stages} per round; {@code llava_cuda_ab} lines with paired ratios to the first variant.
 */
public final class CudaLlavaBench {

    static final String LLAVA_PROMPT = "USER: <image>\nDescribe the picture. ASSISTANT:";
    static final String VIDEO_PROMPT = "<|im_start|>user <video>\nWhat happens in the video?<|im_end|>\n"
            + "<|im_start|>assistant\n";
    /** Whether {@code --stages} asked for the per-stage breakdown of each plan's time to first token. */
    private static boolean stagesWanted;
    /** Where {@code --timeline} writes the kernel timeline; null without it. */
    private static Path timelineFile;
    /** The kernel timeline recording for {@code --timeline}; null when off or unavailable. */
    private static KernelTimeline timeline;
    /** The vision tower's CUDA graph switch (VisionTransformer; default on). */
    static final String VISION_GRAPHS_PROPERTY = "glimpse.cuda.visionGraphs";
    /**
     * Runs of a plan's request before it is measured or recorded: the first at a session shape runs
     * op by op on fresh session buffers, the second captures the prefill graph, later ones replay it.
     */
    static final int WARM_REQUESTS = 2;
    static final int MIN_WARM_ROUNDS = 10;

    private CudaLlavaBench() {
    }

    public static void main(String[] args) {
        Path model = Path.of(BenchArgs.flag(args, "--model", null));
        String shape = BenchArgs.flag(args, "--shape", model.getFileName().toString());
        Backends.Choice device = Backends.Choice.parse(BenchArgs.flag(args, "--device", "cuda"));
        int[] budgets = Arrays.stream(BenchArgs.flag(args, "--budgets", "144,64").split(",")).mapToInt(Integer::parseInt).toArray();
        int frames = Integer.parseInt(BenchArgs.flag(args, "--frames", "32"));
        int chunk = Integer.parseInt(BenchArgs.flag(args, "--prefill-chunk", Integer.toString(SessionOptions.AUTO_PREFILL_CHUNK)));
        if (Arrays.asList(args).contains("--vision-graphs")) {
            String graphs = BenchArgs.flag(args, "--vision-graphs", null);
            if (!graphs.equals("on") && !graphs.equals("off")) {
                throw new IllegalArgumentException("--vision-graphs takes on or off, got " + graphs);
            }
            System.setProperty(VISION_GRAPHS_PROPERTY, Boolean.toString(graphs.equals("on")));
        }
        stagesWanted = Arrays.asList(args).contains("--stages");
        if (Arrays.asList(args).contains("--ab")) {
            InProcessAb.Settings settings = new InProcessAb.Settings(AbSpec.parse(BenchArgs.flag(args, "--ab", null)),
                    Integer.parseInt(BenchArgs.flag(args, "--ab-rounds", "30")), Integer.parseInt(BenchArgs.flag(args, "--ab-warmup", "3")),
                    Integer.parseInt(BenchArgs.flag(args, "--ab-steps", "0")), stagesWanted, chunk,
                    Double.parseDouble(BenchArgs.flag(args, "--warmup-seconds", "5")));
            InProcessAb.run(model, shape, device, BenchArgs.flag(args, "--prune", "vtc-cls"), budgets, frames, settings, System.out);
            return;
        }
        if (Arrays.asList(args).contains("--timeline")) {
            timelineFile = Path.of(BenchArgs.flag(args, "--timeline", null));
            timeline = LlavaPassTimelines.start();
        }
        try {
            run(model, shape, device, BenchArgs.flag(args, "--prune", "vtc-cls"), budgets, frames,
                    Integer.parseInt(BenchArgs.flag(args, "--steps", "64")), Integer.parseInt(BenchArgs.flag(args, "--repeats", "3")),
                    Integer.parseInt(BenchArgs.flag(args, "--bandwidth-gbs", "4800")), chunk,
                    Double.parseDouble(BenchArgs.flag(args, "--warmup-seconds", "5")), System.out);
        } finally {
            if (timeline != null) {
                timeline.close();
            }
        }
        if (Arrays.asList(args).contains("--profile")) {
            profile(model, shape, frames, chunk, System.out);
        }
    }

    static void run(Path dir, String shape, Backends.Choice device, String prune, int[] budgets, int frames, int steps,
                    int repeats, int bandwidthGbs, int chunk, double warmupSeconds, PrintStream out) {
        long loadStart = System.nanoTime();
        try (VisionLanguageModel vlm = Glimpse.load(dir, LoadOptions.defaults().withDevice(device))) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            LlavaModel model = vlm.llava();
            String deviceName = model.backend() instanceof CudaBackend cuda ? cuda.deviceName() : "cpu";
            boolean video = model.acceptsVideo();
            VisualInput input = input(model, frames);
            String prompt = video ? VIDEO_PROMPT : LLAVA_PROMPT;
            String placeholder = video ? "<video>" : "<image>";

            List<PruningPlan> plans = plans(model, prune, budgets);
            double coldVision = vision(model, placeholder, input);
            double coldTtft = generate(model, prompt, input, plans.getFirst(), 1, chunk).ttft;
            int warmRounds = warmUp(model, placeholder, prompt, input, plans, chunk, warmupSeconds);
            double vision = Double.MAX_VALUE;
            for (int r = 0; r < repeats; r++) {
                vision = Math.min(vision, vision(model, placeholder, input));
            }
            long weightBytes = model.decoder().weights().byteSize();
            double roofline = bandwidthGbs * 1e9 / weightBytes;
            List<Run> best = new ArrayList<>();
            for (PruningPlan plan : plans) {
                for (int i = 0; i < WARM_REQUESTS; i++) { // op by op, then the prefill graph's capture
                    MeasuredRequest.runToFirstToken(model, prompt, input, plan, steps, chunk);
                }
                Run fastest = null;
                for (int r = 0; r < repeats; r++) {
                    Run run = generate(model, prompt, input, plan, steps, chunk);
                    fastest = fastest == null ? run : fastest.min(run);
                }
                best.add(fastest);
                out.println(String.format(Locale.ROOT, "{\"bench\":\"llava_cuda_run\",\"impl\":\"glimpse\",\"model\":\"%s\","
                                + "\"device\":\"%s\",\"prune\":\"%s\",\"budget\":%s,\"prompt_tokens\":%d,"
                                + "\"visual_tokens\":%d,\"ttft_ms\":%.3f,\"prefill_queued_ms\":%.3f,\"preprocess_ms\":%.3f,"
                                + "\"decode_steps\":%d,"
                                + "\"decode_ms_per_token\":%.3f,\"decode_tokens_per_s\":%.1f,\"last_token\":%d}",
                        shape, deviceName, plan.describe(), plan.budget() == null ? "null" : "\"" + plan.budget() + "\"",
                        fastest.promptTokens, fastest.visualTokens, fastest.ttft * 1e3, fastest.prefillQueued * 1e3,
                        fastest.preprocess * 1e3, steps,
                        fastest.decode * 1e3 / steps, steps / fastest.decode, fastest.lastToken));
            }
            if (timeline != null && model.backend() instanceof CudaBackend) {
                LlavaPassTimelines.record(timeline, timelineFile, model, shape, prompt, input, plans, steps, chunk, out);
            }
            if (stagesWanted) {
                for (PruningPlan plan : plans) {
                    out.println(stages(model, shape, prompt, input, plan, steps, chunk, Math.max(repeats, 5)));
                }
            }
            Run full = best.getFirst();
            String byTokens = best.stream().map(r -> String.format(Locale.ROOT, "\"%d\":%.3f", r.visualTokens, r.ttft * 1e3))
                    .collect(Collectors.joining(",", "{", "}"));
            double decodeTps = steps / full.decode;
            out.println(String.format(Locale.ROOT, "{\"bench\":\"llava_cuda\",\"impl\":\"glimpse\",\"model\":\"%s\","
                            + "\"device\":\"%s\",\"dtype\":\"%s\",\"load_seconds\":%.2f,\"media\":\"%s\",\"frames\":%d,"
                            + "\"prompt_tokens\":%d,\"visual_tokens\":%d,\"vision_ms\":%.3f,\"ttft_ms\":%.3f,"
                            + "\"ttft_ms_by_visual_tokens\":%s,\"prune\":\"%s\",\"decode_steps\":%d,"
                            + "\"decode_ms_per_token\":%.3f,\"decode_tokens_per_s\":%.1f,\"decoder_weight_bytes\":%d,"
                            + "\"roofline_tokens_per_s\":%.1f,\"decode_fraction_of_roofline\":%.3f,\"last_token\":%d,"
                            + "\"cold_vision_ms\":%.3f,\"cold_ttft_ms\":%.3f,\"warmup_rounds\":%d,\"vision_graphs\":%b}",
                    shape, deviceName, model.decoder().weights().embedTokens().dtype(), loadSeconds,
                    video ? "video " + frames + " frames" : "image", video ? frames : 1, full.promptTokens,
                    full.visualTokens, vision * 1e3, full.ttft * 1e3, byTokens, video ? "none" : prune, steps,
                    full.decode * 1e3 / steps, decodeTps, weightBytes, roofline, decodeTps / roofline, full.lastToken,
                    coldVision * 1e3, coldTtft * 1e3, warmRounds,
                    !"false".equalsIgnoreCase(System.getProperty(VISION_GRAPHS_PROPERTY, "true").trim())));
            out.printf(Locale.ROOT, "# %s on %s: vision %.2f ms, decode %.1f tok/s (%.0f%% of the %d GB/s roofline)%n",
                    shape, deviceName, vision * 1e3, decodeTps, 100 * decodeTps / roofline, bandwidthGbs);
            for (Run r : best) {
                out.printf(Locale.ROOT, "#   TTFT at %5d visual tokens: %8.2f ms = %.2fx of full%n", r.visualTokens,
                        r.ttft * 1e3, r.ttft / full.ttft);
            }
        }
    }

    /** The full budget, then (LLaVA; OneVision's video takes the full budget only) {@code prune} at each of {@code budgets}. */
    static List<PruningPlan> plans(LlavaModel model, String prune, int[] budgets) {
        List<PruningPlan> plans = new ArrayList<>(List.of(PruningPlan.none()));
        if (!model.acceptsVideo()) {
            for (int b : budgets) {
                plans.add(PruningPlan.parse(prune, TokenBudget.parse(Integer.toString(b))));
            }
        }
        return plans;
    }

    /**
     * Runs the vision stage and every plan's prompt (4 decode steps) in rounds until
     * {@code seconds} have passed (at least one round), so that the JIT has compiled the host code
     * of the whole pipeline before anything is measured, as in a serving process; returns the rounds.
     */
    private static int warmUp(LlavaModel model, String placeholder, String prompt, VisualInput input,
                              List<PruningPlan> plans, int chunk, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int rounds = 0;
        do {
            vision(model, placeholder, input);
            for (PruningPlan plan : plans) {
                generate(model, prompt, input, plan, 4, chunk);
            }
            rounds++;
        } while (rounds < MIN_WARM_ROUNDS || System.nanoTime() < end);
        return rounds;
    }

    /** Seconds for the tower and projector over {@code input}, until the device is idle (processor time left out). */
    static double vision(LlavaModel model, String placeholder, VisualInput input) {
        long start = System.nanoTime();
        try (PreparedPrompt prepared = model.prepare(placeholder, input,
                RequestPruning.of(PruningPlan.none(), model.backend(), model.config(), input).visualHooks(), false)) {
            synchronize(model.backend());
            return (System.nanoTime() - start - prepared.visuals().preprocessNanos()) / 1e9;
        }
    }

    /**
     * The full-budget prompt on a {@link ProfilingBackend} over CUDA that waits for the device after
     * each operation: one warm-up pass, then one measured; prints the {@code llava_cuda_profile} line.
     */
    static void profile(Path dir, String shape, int frames, int chunk, PrintStream out) {
        CudaBackend cuda = (CudaBackend) Backends.create(Backends.Choice.CUDA);
        ProfilingBackend backend = new ProfilingBackend(cuda, cuda::synchronize);
        try (LlavaModel model = LlavaModel.load(dir, backend)) {
            VisualInput input = input(model, frames);
            String prompt = model.acceptsVideo() ? VIDEO_PROMPT : LLAVA_PROMPT;
            String line = null;
            for (int pass = 0; pass < 2; pass++) {
                backend.drain();
                long start = System.nanoTime();
                RequestPruning pruning = RequestPruning.of(PruningPlan.none(), backend, model.config(), input);
                try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true)) {
                    long visual = System.nanoTime() - start - prepared.visuals().preprocessNanos();
                    Map<String, ProfilingBackend.Cost> visualOps = backend.drain();
                    long prefillStart = System.nanoTime();
                    try (DecoderSession session = model.decoder().newSession(
                            SessionOptions.of(prepared.inputIds().length + 8).withPrefillChunkSize(chunk))) {
                        session.prefill(prepared.embeddings(), prepared.positions(), pruning.decoderHook(prepared));
                        session.greedyToken();
                    }
                    long prefill = System.nanoTime() - prefillStart;
                    line = String.format(Locale.ROOT, "{\"bench\":\"llava_cuda_profile\",\"model\":\"%s\",\"device\":\"%s\","
                                    + "\"prompt_tokens\":%d,\"prefill_chunk\":%d,\"visual_ms\":%.3f,\"visual_ops\":%s,"
                                    + "\"prefill_ms\":%.3f,\"prefill_ops\":%s}",
                            shape, cuda.deviceName(), prepared.inputIds().length, chunk, visual / 1e6, json(visualOps),
                            prefill / 1e6, json(backend.drain()));
                }
            }
            out.println(line);
        } finally {
            backend.close();
        }
    }

    private static String json(Map<String, ProfilingBackend.Cost> ops) {
        return ops.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue().nanos(), a.getValue().nanos()))
                .map(e -> String.format(Locale.ROOT, "\"%s\":{\"ms\":%.3f,\"calls\":%d}", e.getKey(),
                        e.getValue().nanos() / 1e6, e.getValue().calls()))
                .collect(Collectors.joining(",", "{", "}"));
    }

    /** The bench's pictures for {@code model}: {@code frames} random frames (OneVision) or one random image. */
    static VisualInput input(LlavaModel model, int frames) {
        int size = model.config().vision().imageSize();
        SplittableRandom random = new SplittableRandom(7);
        return model.acceptsVideo()
                ? new VisualInput.Video(IntStream.range(0, frames).mapToObj(i -> randomImage(size, random)).toList())
                : new VisualInput.Images(List.of(randomImage(size, random)));
    }

    /** One prompt: the first token's id on the host, then {@code steps} greedy decode steps. */
    static Run generate(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, int steps, int chunk) {
        long start = System.nanoTime();
        try (MeasuredRequest request = new MeasuredRequest(model, prompt, input, plan, steps, chunk)) {
            request.prepare();
            int token = request.firstToken();
            long first = System.nanoTime();
            DecoderSession session = request.session();
            token = GreedySteps.run(session, token, steps);
            long done = System.nanoTime();
            PreparedPrompt prepared = request.prepared();
            long preprocess = prepared.visuals().preprocessNanos();
            return new Run((first - start - preprocess) / 1e9, (done - first) / 1e9, preprocess / 1e9,
                    (request.prefillQueuedNanos() - start - preprocess) / 1e9, prepared.inputIds().length,
                    prepared.visuals().visualTokens(), token);
        }
    }

    /**
     * The time to first token of {@code plan} split at host waits, best of {@code repeats}: prepare
     * (upload, tower, pruning, projector, tokenize, splice; processor time left out), the decoder
     * session's creation (KV cache, scratch, step inputs), the prefill and the first token's argmax
     * and download. Each stage ends in a device wait, so the stages add up to a little more than
     * the TTFT measured without them; a stage far above its GPU time is host-bound.
     */
    private static String stages(LlavaModel model, String shape, String prompt, VisualInput input, PruningPlan plan,
                                 int steps, int chunk, int repeats) {
        double[] best = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
        int tokens = 0;
        for (int r = 0; r < repeats; r++) {
            TtftSplit split = ttftSplit(model, prompt, input, plan, steps, chunk);
            for (int i = 0; i < 4; i++) {
                best[i] = Math.min(best[i], split.ms()[i]);
            }
            tokens = split.promptTokens();
        }
        double[] split = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
        for (int r = 0; r < repeats; r++) {
            double[] once = prepareSplit(model, prompt, input, plan);
            for (int i = 0; i < 3; i++) {
                split[i] = Math.min(split[i], once[i]);
            }
        }
        return String.format(Locale.ROOT, "{\"bench\":\"llava_cuda_stages\",\"model\":\"%s\",\"prune\":\"%s\",\"budget\":%s,"
                        + "\"prompt_tokens\":%d,\"prepare_ms\":%.3f,\"session_ms\":%.3f,\"prefill_ms\":%.3f,"
                        + "\"first_token_ms\":%.3f,\"prepare_vision_ms\":%.3f,\"prepare_select_ms\":%.3f,"
                        + "\"prepare_project_ms\":%.3f}",
                shape, plan.describe(), plan.budget() == null ? "null" : "\"" + plan.budget() + "\"", tokens, best[0],
                best[1], best[2], best[3], split[0], split[1], split[2]);
    }

    /**
     * One request's time to first token split at device waits ({@link #stages}): milliseconds of
     * prepare, session creation, prefill and first token, its session of the shape {@link #generate}
     * gives a request of {@code steps} decode steps ({@link MeasuredRequest#sessionOptions}), so that
     * both take the same pooled session buffers and their prefill graphs.
     */
    static TtftSplit ttftSplit(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, int steps,
                               int chunk) {
        long t0 = System.nanoTime();
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true)) {
            synchronize(model.backend());
            long t1 = System.nanoTime() - prepared.visuals().preprocessNanos();
            try (DecoderSession session = model.decoder().newSession(
                    MeasuredRequest.sessionOptions(prepared.inputIds().length, steps, chunk))) {
                synchronize(model.backend());
                long t2 = System.nanoTime() - prepared.visuals().preprocessNanos();
                session.prefill(prepared.embeddings(), prepared.positions(), pruning.decoderHook(prepared));
                synchronize(model.backend());
                long t3 = System.nanoTime() - prepared.visuals().preprocessNanos();
                session.greedyToken();
                long t4 = System.nanoTime() - prepared.visuals().preprocessNanos();
                return new TtftSplit(new double[]{(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6},
                        prepared.inputIds().length);
            }
        }
    }

    /** Milliseconds of prepare, session creation, prefill and first token, and the prompt's length in tokens. */
    record TtftSplit(double[] ms, int promptTokens) {
    }

    /**
     * Prepare split at its pre-projector hook ({@link PrepareClock}), once: vision (upload and
     * tower), select (the hook: scoring, top-k, read-backs; about 0 without a selector) and project
     * (projector, tokenize, splice), each ending in a device wait, in milliseconds. Separate
     * requests from {@link #ttftSplit}'s prepare, which these waits would inflate.
     */
    static double[] prepareSplit(LlavaModel model, String prompt, VisualInput input, PruningPlan plan) {
        long t0 = System.nanoTime();
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        PrepareClock clock = PrepareClock.around(pruning.visualHooks(), () -> synchronize(model.backend()));
        try (PreparedPrompt prepared = model.prepare(prompt, input, clock.in(pruning.visualHooks()), true)) {
            synchronize(model.backend());
            long end = System.nanoTime();
            return new double[]{(clock.enteredNanos() - t0 - prepared.visuals().preprocessNanos()) / 1e6,
                    (clock.leftNanos() - clock.enteredNanos()) / 1e6, (end - clock.leftNanos()) / 1e6};
        }
    }

    private static void synchronize(Backend backend) {
        if (backend instanceof CudaBackend cuda) {
            cuda.synchronize();
        }
    }

    private static RgbImage randomImage(int size, SplittableRandom random) {
        byte[] pixels = new byte[size * size * 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) random.nextInt(256);
        }
        return new RgbImage(size, size, pixels);
    }

    /**
     * Best-of bookkeeping: seconds to the first token, seconds of the decode steps, processor
     * seconds, and seconds (on the first token's clock) until the host had queued the prefill.
     */
    record Run(double ttft, double decode, double preprocess, double prefillQueued, int promptTokens, int visualTokens,
               int lastToken) {
        Run min(Run other) {
            return new Run(Math.min(ttft, other.ttft), Math.min(decode, other.decode), Math.min(preprocess, other.preprocess),
                    Math.min(prefillQueued, other.prefillQueued), promptTokens, visualTokens, other.lastToken);
        }
    }
}
