package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphCounters;
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
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Time to first token of a serving mix ({@link ServeMix}: ~30 LLaVA requests whose question lengths
 * and {@code max_tokens} vary, from a seed) under in-process variants, e.g. exact session capacities
 * and prefill rows against capacity buckets ({@code glimpse.decoder.capacityBucket}) and padded graph
 * prefills ({@code glimpse.cuda.prefillPadRows}). Each request runs as {@code VisionLanguageModel#ask}
 * runs one: the visual stage under {@code --prune} (default vtc-cls) at {@code --budget} (default 64)
 * tokens, a session asking for the prompt plus its {@code max_tokens}, the prefill and the greedy
 * first token (its time to first token), then {@code --decode-steps} (default 2) greedy steps, untimed.
 *
 * <p>{@code --ab "exact=glimpse.decoder.capacityBucket=0,glimpse.cuda.prefillPadRows=0;bucket=...;..."}
 * ({@link AbSpec}; the default compares exact capacities, 256-entry buckets alone, and buckets with
 * prefills padded to 16 and to 32 rows) names the variants, the first the base. Each of {@code --rounds} (default 5) runs every
 * variant in turn, the order rotated per round: first {@code --switch-warmup} requests of the mix
 * (default all of it) unmeasured, then the whole mix measured. The variants share one loaded model,
 * its one pooled set of session buffers and that set's eight prefill graphs, so a variant finds
 * what the previous one left; the warm-up pass gives it the buffers and graphs a serving process of
 * that configuration would hold in its steady state (and, the first time, the JIT its code). Per
 * variant, one {@code serve_mix} JSON line: TTFT median and p90 in microseconds against the base's
 * and their ratios, the median of the per-request paired ratios, the host time of opening the
 * session (where an unpooled set is allocated), how many prefills ran op by op, captured and
 * replayed a graph in the measured passes ({@link PrefillGraphCounters}: a padded variant in its
 * steady state replays every request), and how many requests'
 * greedy first tokens differ from the base's (0 expected; padded prefills' GEMMs run more rows, whose
 * cuBLASLt algorithm may round differently, so a near tie of the random checkpoint may flip one),
 * with the median TTFT of the requests whose prefill replayed a graph and of the others, and the
 * median per prompt length rounded up to 16 tokens (which lengths a padding serves well).
 */
public final class ServeMixBench {

    static final String LLAVA_TEMPLATE = "USER: <image>\n%s ASSISTANT:";
    /**
     * The variants {@code --ab} defaults to; {@code exact} and {@code bucket} pin exact prefill rows, so a JVM run
     * under {@code -Dglimpse.cuda.prefillPadRows} (serve's setting) still measures them unpadded.
     */
    static final String DEFAULT_AB = "exact=" + DecoderSession.CAPACITY_BUCKET_PROPERTY + "=0,"
            + DecoderSession.PREFILL_PAD_ROWS_PROPERTY + "=0;bucket="
            + DecoderSession.CAPACITY_BUCKET_PROPERTY + "=256," + DecoderSession.PREFILL_PAD_ROWS_PROPERTY + "=0;pad16="
            + DecoderSession.CAPACITY_BUCKET_PROPERTY + "=256," + DecoderSession.PREFILL_PAD_ROWS_PROPERTY + "=16;pad32="
            + DecoderSession.CAPACITY_BUCKET_PROPERTY + "=256," + DecoderSession.PREFILL_PAD_ROWS_PROPERTY + "=32";

    private ServeMixBench() {
    }

    /**
     * One measured request.
     *
     * @param ttftNanos    time to its first token
     * @param sessionNanos host time of opening its session
     * @param promptTokens its prompt's tokens
     * @param firstToken   its greedy first token (variants must agree, up to near ties)
     * @param replayed     whether its prefill replayed a graph ({@link PrefillGraphCounters})
     */
    record Sample(long ttftNanos, long sessionNanos, int promptTokens, int firstToken, boolean replayed) {
    }

    public static void main(String[] args) {
        Path model = Path.of(BenchArgs.flag(args, "--model", null));
        String shape = BenchArgs.flag(args, "--shape", model.getFileName().toString());
        AbSpec spec = AbSpec.parse(BenchArgs.flag(args, "--ab", DEFAULT_AB));
        ServeMix mix = ServeMix.of(Long.parseLong(BenchArgs.flag(args, "--seed", "11")),
                Integer.parseInt(BenchArgs.flag(args, "--requests", "30")));
        int rounds = Integer.parseInt(BenchArgs.flag(args, "--rounds", "5"));
        int warmup = Integer.parseInt(BenchArgs.flag(args, "--switch-warmup", Integer.toString(mix.requests().size())));
        int steps = Integer.parseInt(BenchArgs.flag(args, "--decode-steps", "2"));
        if (rounds < 1 || warmup < 0) {
            throw new IllegalArgumentException("--rounds must be >= 1 and --switch-warmup >= 0, got " + rounds + " and "
                    + warmup);
        }
        try (VisionLanguageModel vlm = Glimpse.load(model, LoadOptions.defaults()
                .withDevice(Backends.Choice.parse(BenchArgs.flag(args, "--device", "cuda"))))) {
            LlavaModel llava = vlm.llava();
            if (llava.acceptsVideo()) {
                throw new IllegalArgumentException(shape + " takes video; the serve mix asks plain LLaVA about one image");
            }
            PruningPlan plan = PruningPlan.parse(BenchArgs.flag(args, "--prune", "vtc-cls"),
                    TokenBudget.parse(BenchArgs.flag(args, "--budget", "64")));
            run(llava, shape, plan, mix, spec, new Passes(rounds, warmup, steps), System.out);
        }
    }

    /**
     * How the mix is sent.
     *
     * @param rounds the measured rounds: each sends the mix once per variant
     * @param warmup unmeasured requests of the mix a variant sends before its measured pass
     * @param steps  greedy decode steps after each first token, untimed
     */
    record Passes(int rounds, int warmup, int steps) {
    }

    static void run(LlavaModel model, String shape, PruningPlan plan, ServeMix mix, AbSpec spec, Passes passes,
                    PrintStream out) {
        VisualInput input = CudaLlavaBench.input(model, 1);
        List<AbVariant> variants = spec.variants();
        int count = mix.requests().size();
        int rounds = passes.rounds();
        Sample[][] samples = new Sample[variants.size()][rounds * count];
        PrefillGraphCounters.Snapshot[] counts = new PrefillGraphCounters.Snapshot[variants.size()];
        Arrays.fill(counts, new PrefillGraphCounters.Snapshot(0, 0, 0));
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < variants.size(); k++) {
                int v = (k + round) % variants.size();
                int measured = round;
                PrefillGraphCounters.Snapshot[] before = new PrefillGraphCounters.Snapshot[1];
                variants.get(v).during(() -> {
                    for (int i = 0; i < passes.warmup(); i++) {
                        request(model, plan, input, mix.requests().get(i % count), passes.steps());
                    }
                    before[0] = PrefillGraphCounters.snapshot();
                    for (int i = 0; i < count; i++) {
                        samples[v][measured * count + i] = request(model, plan, input, mix.requests().get(i),
                                passes.steps());
                    }
                    return null;
                });
                PrefillGraphCounters.Snapshot d = PrefillGraphCounters.snapshot().since(before[0]);
                PrefillGraphCounters.Snapshot c = counts[v];
                counts[v] = new PrefillGraphCounters.Snapshot(c.opByOp() + d.opByOp(), c.captures() + d.captures(),
                        c.replays() + d.replays());
            }
        }
        String device = model.backend() instanceof CudaBackend cuda ? cuda.deviceName() : "cpu";
        double[] baseTtft = micros(samples[0], true);
        double[] baseSession = micros(samples[0], false);
        int[] promptTokens = Arrays.stream(samples[0]).mapToInt(Sample::promptTokens).toArray();
        for (int v = 0; v < variants.size(); v++) {
            double[] ttft = micros(samples[v], true);
            double[] session = micros(samples[v], false);
            PairedStats paired = PairedStats.of(ttft, baseTtft);
            double median = PairedStats.quantile(ttft, 0.5);
            double p90 = PairedStats.quantile(ttft, 0.9);
            double baseMedian = PairedStats.quantile(baseTtft, 0.5);
            double baseP90 = PairedStats.quantile(baseTtft, 0.9);
            AbVariant variant = variants.get(v);
            int v0 = v;
            long mismatches = IntStream.range(0, samples[v].length)
                    .filter(i -> samples[v0][i].firstToken() != samples[0][i].firstToken()).count();
            out.println(String.format(Locale.ROOT, "{\"bench\":\"serve_mix\",\"model\":\"%s\",\"device\":\"%s\","
                            + "\"prune\":\"%s\",\"variant\":\"%s\",\"properties\":\"%s\",\"base\":\"%s\",\"requests\":%d,"
                            + "\"measured_rounds\":%d,\"prompt_tokens_min\":%d,\"prompt_tokens_max\":%d,"
                            + "\"ttft_us_median\":%.1f,\"ttft_us_p90\":%.1f,\"base_ttft_us_median\":%.1f,"
                            + "\"base_ttft_us_p90\":%.1f,\"ratio_median\":%.4f,\"ratio_p90\":%.4f,"
                            + "\"paired_ratio_median\":%.4f,\"paired_ratio_q1\":%.4f,\"paired_ratio_q3\":%.4f,"
                            + "\"session_open_us_median\":%.1f,\"base_session_open_us_median\":%.1f,"
                            + "\"prefill_op_by_op\":%d,\"prefill_captures\":%d,\"prefill_replays\":%d,"
                            + "\"first_token_mismatches\":%d,\"ttft_us_median_replayed\":%.1f,"
                            + "\"ttft_us_median_not_replayed\":%.1f,\"ttft_us_median_by_prompt16\":%s}",
                    shape, device, plan.describe(), variant.label(), variant.describe(), variants.getFirst().label(),
                    count, rounds, Arrays.stream(promptTokens).min().orElse(0),
                    Arrays.stream(promptTokens).max().orElse(0), median, p90, baseMedian, baseP90, median / baseMedian,
                    p90 / baseP90, paired.ratioMedian(), paired.ratioQ1(), paired.ratioQ3(),
                    PairedStats.quantile(session, 0.5), PairedStats.quantile(baseSession, 0.5), counts[v].opByOp(),
                    counts[v].captures(), counts[v].replays(), mismatches, median(samples[v], s -> s.replayed()),
                    median(samples[v], s -> !s.replayed()), byPromptTokens(samples[v])));
            out.printf(Locale.ROOT, "# serve mix %s [%s]: TTFT median %.2f ms (%.3fx of %s), p90 %.2f ms (%.3fx);"
                            + " session open %.0f us; prefills op by op %d, captured %d, replayed %d;"
                            + " first tokens differing from the base's %d%n",
                    shape, variant.label(), median / 1e3, median / baseMedian, variants.getFirst().label(), p90 / 1e3,
                    p90 / baseP90, PairedStats.quantile(session, 0.5), counts[v].opByOp(), counts[v].captures(),
                    counts[v].replays(), mismatches);
        }
    }

    /**
     * One request as {@code VisionLanguageModel#ask} runs it, to its greedy first token (timed), then
     * {@code steps} greedy decode steps.
     */
    static Sample request(LlavaModel model, PruningPlan plan, VisualInput input, ServeMix.Request request, int steps) {
        long start = System.nanoTime();
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        try (PreparedPrompt prepared = model.prepare(String.format(LLAVA_TEMPLATE, request.question()), input,
                pruning.visualHooks(), true)) {
            int promptTokens = prepared.inputIds().length;
            long replaysBefore = PrefillGraphCounters.snapshot().replays();
            long open = System.nanoTime();
            try (DecoderSession session = model.decoder().newSession(SessionOptions.of(promptTokens
                    + request.maxNewTokens()).withPositionMode(pruning.decoderPositions()))) {
                long opened = System.nanoTime();
                session.prefill(prepared.embeddings(), prepared.positions(), pruning.decoderHook(prepared));
                int token = session.greedyToken();
                long firstToken = System.nanoTime();
                Sample sample = new Sample(firstToken - start, opened - open, promptTokens, token,
                        PrefillGraphCounters.snapshot().replays() > replaysBefore);
                GreedySteps.run(session, token, Math.min(steps, request.maxNewTokens() - 1));
                return sample;
            }
        }
    }

    /** Median TTFT in microseconds of the samples {@code which} accepts; -1 when none does. */
    private static double median(Sample[] samples, Predicate<Sample> which) {
        double[] micros = Arrays.stream(samples).filter(which).mapToDouble(s -> s.ttftNanos() / 1e3).toArray();
        return micros.length == 0 ? -1 : PairedStats.quantile(micros, 0.5);
    }

    /**
     * Median TTFT in microseconds per prompt length rounded up to 16 tokens, as a JSON object: which
     * lengths a padded variant serves well or badly.
     */
    private static String byPromptTokens(Sample[] samples) {
        Map<Integer, List<Sample>> groups = new TreeMap<>();
        for (Sample s : samples) {
            groups.computeIfAbsent((s.promptTokens() + 15) / 16 * 16, k -> new ArrayList<>()).add(s);
        }
        return groups.entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "\"%d\":%.1f", e.getKey(),
                        median(e.getValue().toArray(Sample[]::new), x -> true)))
                .collect(Collectors.joining(",", "{", "}"));
    }

    private static double[] micros(Sample[] samples, boolean ttft) {
        return Arrays.stream(samples).mapToDouble(s -> (ttft ? s.ttftNanos() : s.sessionNanos()) / 1e3).toArray();
    }
}
