package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphCounters;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.warmup.ServeWarmup;
import dev.glimpse.vlmruntime.warmup.WarmupReport;
import dev.glimpse.vlmruntime.warmup.WarmupSettings;
import dev.glimpse.vlmruntime.warmup.WarmupTarget;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * What {@code glimpse serve --warmup} takes off its first requests: a fresh process (one JVM per variant; run it
 * with {@code -Dglimpse.cuda.ltTuneCache} naming an empty file for a machine that never ran Glimpse) loads the
 * model, with {@code --warmup on} runs {@link ServeWarmup} as serve does (the full visual count and
 * {@code --budget} under {@code --prune}, questions up to 96 tokens past "Describe the image.", the default 64 new
 * tokens), then sends the serving mix ({@link ServeMix}: ~30 requests of varying question lengths and
 * {@code max_tokens}, at the budget) and its first {@code --full-requests} questions (default 5) at the full visual
 * count, twice: the first pass is what early users of a just-started server see, the second the steady state.
 * Each request runs {@code VisionLanguageModel#ask} to its first token (every token id ends it, the session asking
 * for the request's capacity), timed to that token. Prefills padded to 16 rows unless
 * {@code -Dglimpse.cuda.prefillPadRows} is set, as serve pads them.
 *
 * <p>One {@code serve_warmup} JSON line: the warm-up's seconds, requests and buckets; per pass the TTFT median,
 * p90, max and mean in microseconds, how many requests took over 100 ms, the prefills' op-by-op, capture and
 * replay counts ({@link PrefillGraphCounters}) and the cuBLASLt problems measured or looked up in the pass
 * ({@link CudaBackend#ltChoices}, growth of its most recent 64). {@code tools/device/bench-llava.sh} with
 * {@code LLAVA_BENCH_SERVE_WARMUP=1} runs it off and on against empty cuBLASLt stores, and off again on the store
 * the warm run left (a machine that served before), and prints {@code serve_warmup_ab} lines of old and new
 * microseconds and their ratio.
 */
public final class ServeWarmupBench {

    private static final String QUESTION = "Describe the image.";
    private static final long SLOW_NANOS = 100_000_000L;

    private ServeWarmupBench() {
    }

    /** One request of a pass: the mix's question and max_tokens, and the visual setting it asks under. */
    private record Sent(ServeMix.Request request, PruningPlan plan) {
    }

    /** One pass's requests: TTFT per request, and what the prefills and cuBLASLt did during it. */
    private record Pass(double[] ttftMicros, PrefillGraphCounters.Snapshot prefills, int ltLookups) {

        String json(String prefix) {
            long slow = Arrays.stream(ttftMicros).filter(t -> t * 1e3 > SLOW_NANOS).count();
            return String.format(Locale.ROOT, "\"%s_ttft_us_median\":%.1f,\"%s_ttft_us_p90\":%.1f,\"%s_ttft_us_max\":%.1f,"
                            + "\"%s_ttft_us_mean\":%.1f,\"%s_over_100ms\":%d,\"%s_prefill_op_by_op\":%d,"
                            + "\"%s_prefill_captures\":%d,\"%s_prefill_replays\":%d,\"%s_lt_lookups\":%d",
                    prefix, PairedStats.quantile(ttftMicros, 0.5), prefix, PairedStats.quantile(ttftMicros, 0.9),
                    prefix, Arrays.stream(ttftMicros).max().orElse(0), prefix,
                    Arrays.stream(ttftMicros).average().orElse(0), prefix, slow, prefix, prefills.opByOp(), prefix,
                    prefills.captures(), prefix, prefills.replays(), prefix, ltLookups);
        }
    }

    public static void main(String[] args) {
        Path model = Path.of(BenchArgs.flag(args, "--model", null));
        String shape = BenchArgs.flag(args, "--shape", model.getFileName().toString());
        String variant = BenchArgs.flag(args, "--variant", BenchArgs.flag(args, "--warmup", "off"));
        boolean warm = BenchArgs.flag(args, "--warmup", "off").equals("on");
        String prune = BenchArgs.flag(args, "--prune", WarmupSettings.DEFAULT_PRUNE);
        int budget = Integer.parseInt(BenchArgs.flag(args, "--budget", "64"));
        ServeMix mix = ServeMix.of(Long.parseLong(BenchArgs.flag(args, "--seed", "11")),
                Integer.parseInt(BenchArgs.flag(args, "--requests", "30")));
        int fullRequests = Integer.parseInt(BenchArgs.flag(args, "--full-requests", "5"));
        String pad = System.getProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY);
        if (pad == null || pad.isBlank()) {
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, "16");
        }
        long loadStart = System.nanoTime();
        try (VisionLanguageModel vlm = Glimpse.load(model, LoadOptions.defaults()
                .withDevice(Backends.Choice.parse(BenchArgs.flag(args, "--device", "cuda"))))) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            CudaBackend cuda = vlm.llava().backend() instanceof CudaBackend c ? c : null;
            WarmupReport report = null;
            if (warm) {
                report = ServeWarmup.run(WarmupTarget.of(vlm), new WarmupSettings(Duration.ofSeconds(300), QUESTION,
                        prune, List.of(budget), WarmupSettings.DEFAULT_QUESTION_TOKENS, 64), () -> false);
                System.err.println("# " + report.summary());
            }
            VisualInput.Images input = (VisualInput.Images) CudaLlavaBench.input(vlm.llava(), 1);
            Media picture = Media.image(input.images().getFirst());
            PruningPlan pruned = PruningPlan.parse(prune, new TokenBudget.Count(budget));
            List<Sent> requests = new ArrayList<>();
            mix.requests().forEach(r -> requests.add(new Sent(r, pruned)));
            mix.requests().stream().limit(fullRequests).forEach(r -> requests.add(new Sent(r, PruningPlan.none())));
            Pass first = pass(vlm, cuda, picture, requests);
            Pass steady = pass(vlm, cuda, picture, requests);
            String device = cuda == null ? "cpu" : cuda.deviceName();
            System.out.println(String.format(Locale.ROOT, "{\"bench\":\"serve_warmup\",\"model\":\"%s\",\"device\":\"%s\","
                            + "\"variant\":\"%s\",\"warmup\":%b,\"prune\":\"%s\",\"budget\":%d,\"requests\":%d,"
                            + "\"load_s\":%.2f,\"warmup_s\":%.3f,\"warmup_requests\":%d,\"warmup_graph_buckets\":%d,"
                            + "\"warmup_search_buckets\":%d,\"warmup_outcome\":\"%s\",%s,%s}",
                    shape, device, variant, warm, prune, budget, requests.size(), loadSeconds,
                    report == null ? 0 : report.nanos() / 1e9, report == null ? 0 : report.requests(),
                    report == null ? 0 : report.rows(WarmupReport.Kind.GRAPH).size(),
                    report == null ? 0 : report.rows(WarmupReport.Kind.SEARCH).size(),
                    report == null ? "off" : report.outcome().name().toLowerCase(Locale.ROOT), first.json("first"),
                    steady.json("steady")));
        }
    }

    /** Sends every request once, each to its first token; TTFT in microseconds per request. */
    private static Pass pass(VisionLanguageModel vlm, CudaBackend cuda, Media picture, List<Sent> requests) {
        List<Integer> everyToken = IntStream.range(0, vlm.llava().config().text().vocabSize()).boxed().toList();
        double[] ttft = new double[requests.size()];
        PrefillGraphCounters.Snapshot before = PrefillGraphCounters.snapshot();
        List<String> choicesBefore = cuda == null ? List.of() : List.copyOf(cuda.ltChoices().keySet());
        for (int i = 0; i < requests.size(); i++) {
            ServeMix.Request r = requests.get(i).request();
            AskOptions options = new AskOptions(r.maxNewTokens(),
                    Optional.of(GenerationOptions.greedy(r.maxNewTokens()).withEosTokenIds(everyToken)),
                    requests.get(i).plan());
            long[] firstToken = {0};
            long start = System.nanoTime();
            vlm.ask(picture, r.question(), options, (id, text) -> {
                if (firstToken[0] == 0) {
                    firstToken[0] = System.nanoTime();
                }
            });
            ttft[i] = (firstToken[0] - start) / 1e3;
        }
        int lookups = 0;
        if (cuda != null) {
            List<String> after = new ArrayList<>(cuda.ltChoices().keySet());
            after.removeAll(choicesBefore);
            lookups = after.size();
        }
        return new Pass(ttft, PrefillGraphCounters.snapshot().since(before), lookups);
    }
}
