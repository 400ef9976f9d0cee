package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code CudaLlavaBench --ab <spec>}: an A/B of system-property variants ({@link AbSpec}) inside one
 * JVM on one loaded model, so that the JIT, the allocators, the clocks and the GPU's thermal state
 * are the same for every variant (between JVMs the same code's TTFT spread about 1 ms, more than
 * the effects measured). First the JIT warm-up: for {@code warmupSeconds}, rounds of every
 * variant's vision call and prompts. Then stage after stage (the vision call; the prompt at the
 * full budget and at each budget), each variant runs {@code warmupCalls} requests (its first
 * prefill of a session-buffer set runs op by op, the second captures the prefill graph, likewise
 * the tower's graph), then {@code rounds} rounds (rounded up to a multiple of the variant count),
 * each running every variant once in the rotated order of {@link AbSpec#order}. A stage's requests all take one session-buffer set (one shape),
 * whose prefill graphs, like the tower's, hold one graph per variant: stages run one after
 * another, not interleaved, because interleaving prompts of different lengths would drop the
 * pooled buffers and their graphs at every request.
 *
 * <p>Per stage, variant and metric one {@code llava_cuda_ab} line ({@link PairedStats}: median,
 * minimum, and the per-round ratio variant / base, median and quartiles), and a {@code #} summary.
 * Metrics: {@code vision_ms} (the vision stage); {@code ttft_ms} and {@code preprocess_ms} (the host's image
 * processing before it, which {@code ttft_ms} leaves out, as HF's benchmark is handed its pixel values), with {@code steps > 0} also
 * {@code decode_ms_per_token} (a session's first steps run op by op and capture its step graph, so
 * few steps overstate it), and with {@code stages} the measured request's {@code prefill_queued_ms}
 * (when its host had queued the prefill: see {@code CudaLlavaBench}) and the split of
 * {@code CudaLlavaBench --stages} ({@code prepare_ms} ... {@code prepare_project_ms}) from two more
 * requests of the same variant.
 * The measured rounds of each stage are logged at info as they begin and end, so that a log with
 * the graph caches' debug lines shows whether any graph was captured inside them (none should be).
 */
final class InProcessAb {

    private static final Logger LOG = LoggerFactory.getLogger(InProcessAb.class);
    private static final String[] SPLIT_METRICS = {"prepare_ms", "session_ms", "prefill_ms", "first_token_ms"};
    private static final String[] PREPARE_METRICS = {"prepare_vision_ms", "prepare_select_ms", "prepare_project_ms"};

    /** How the A/B runs: its variants and rounds, the calls per variant before a stage's rounds, decode steps, splits. */
    record Settings(AbSpec spec, int rounds, int warmupCalls, int steps, boolean stages, int chunk,
                    double warmupSeconds) {
        Settings {
            if (rounds < 1 || warmupCalls < 2 || steps < 0) {
                throw new IllegalArgumentException("--ab-rounds must be at least 1, --ab-warmup at least 2 (a graph is"
                        + " captured on a key's second call) and --ab-steps at least 0, got " + rounds + ", " + warmupCalls
                        + " and " + steps);
            }
        }

        /** The rounds asked for, rounded up to a multiple of the variant count: each variant then takes each place equally often. */
        int balancedRounds() {
            int n = spec.variants().size();
            return (rounds + n - 1) / n * n;
        }
    }

    /** One stage: the vision call ({@code plan} null) or the prompt under {@code plan}. */
    private record Stage(PruningPlan plan) {
        String name() {
            return plan == null ? "vision" : "prompt";
        }

        String describe() {
            return plan == null ? "vision call" : "prompt, " + plan.describe();
        }
    }

    private final LlavaModel model;
    private final VisualInput input;
    private final String prompt;
    private final String placeholder;
    private final Settings settings;

    private InProcessAb(LlavaModel model, int frames, Settings settings) {
        this.model = model;
        this.input = CudaLlavaBench.input(model, frames);
        this.prompt = model.acceptsVideo() ? CudaLlavaBench.VIDEO_PROMPT : CudaLlavaBench.LLAVA_PROMPT;
        this.placeholder = model.acceptsVideo() ? "<video>" : "<image>";
        this.settings = settings;
    }

    /**
     * The byte limit of the vision tower's held graphs (TowerGraphs, read when the model loads;
     * default 2 GiB): a 32-frame SigLIP graph of OneVision keeps about 1.6 GiB, so two variants'
     * graphs would not fit and each variant's call would evict the other's and capture anew.
     */
    static final String TOWER_GRAPH_BYTES_PROPERTY = "glimpse.cuda.visionGraphs.maxBytes";
    /** The default of {@link #TOWER_GRAPH_BYTES_PROPERTY} in GiB, which the A/B grants per variant. */
    private static final int TOWER_GRAPH_GIB = 2;

    /**
     * Loads {@code dir} on {@code device} and runs the A/B over the full budget and {@code budgets}
     * under {@code prune}. Unless {@value #TOWER_GRAPH_BYTES_PROPERTY} is given, it is set to the
     * default per variant before the model loads, so that every variant's tower graph stays held.
     */
    static void run(Path dir, String shape, Backends.Choice device, String prune, int[] budgets, int frames,
                    Settings settings, PrintStream out) {
        boolean raise = System.getProperty(TOWER_GRAPH_BYTES_PROPERTY) == null;
        if (raise) {
            String bytes = TOWER_GRAPH_GIB * settings.spec().variants().size() + "g";
            System.setProperty(TOWER_GRAPH_BYTES_PROPERTY, bytes);
            out.printf(Locale.ROOT, "# -D%s=%s: the tower's graphs of every variant stay held%n",
                    TOWER_GRAPH_BYTES_PROPERTY, bytes);
        }
        try (VisionLanguageModel vlm = Glimpse.load(dir, LoadOptions.defaults().withDevice(device))) {
            LlavaModel model = vlm.llava();
            List<PruningPlan> plans = CudaLlavaBench.plans(model, prune, budgets);
            new InProcessAb(model, frames, settings).run(shape, plans, out);
        } finally {
            if (raise) {
                System.clearProperty(TOWER_GRAPH_BYTES_PROPERTY);
            }
        }
    }

    private void run(String shape, List<PruningPlan> plans, PrintStream out) {
        String device = model.backend() instanceof CudaBackend cuda ? cuda.deviceName() : "cpu";
        AbSpec spec = settings.spec();
        int jitRounds = jitWarmUp(plans);
        out.printf(Locale.ROOT, "# in-process A/B of %s on %s: %d JIT warm-up rounds, then per stage %d calls per variant"
                        + " and %d measured rounds in rotated order; ratio = variant/base per round, median [quartiles]%n",
                shape, device, jitRounds, settings.warmupCalls(), settings.balancedRounds());
        for (AbVariant v : spec.variants()) {
            out.printf(Locale.ROOT, "#   %s: %s%n", v.label(), v.describe().isEmpty() ? "(defaults)" : v.describe());
        }
        List<Stage> stages = new ArrayList<>();
        stages.add(new Stage(null));
        plans.forEach(p -> stages.add(new Stage(p)));
        for (Stage stage : stages) {
            for (AbVariant v : spec.variants()) {
                for (int i = 0; i < settings.warmupCalls(); i++) {
                    v.during(() -> measure(stage));
                }
            }
            AbSamples samples = new AbSamples(spec, settings.balancedRounds());
            int visualTokens = 0;
            LOG.info("in-process A/B: measured rounds begin ({})", stage.describe());
            for (int r = 0; r < settings.balancedRounds(); r++) {
                for (AbVariant v : spec.order(r)) {
                    Sample sample = v.during(() -> measure(stage));
                    samples.add(v, r, sample.metrics());
                    visualTokens = sample.visualTokens();
                }
            }
            LOG.info("in-process A/B: measured rounds end ({})", stage.describe());
            report(shape, device, stage, visualTokens, samples, out);
        }
    }

    /** Every variant's vision call and prompts (4 decode steps) in rounds for the configured seconds, at least one. */
    private int jitWarmUp(List<PruningPlan> plans) {
        long end = System.nanoTime() + (long) (settings.warmupSeconds() * 1e9);
        int rounds = 0;
        do {
            for (AbVariant v : settings.spec().order(rounds)) {
                v.during(() -> {
                    CudaLlavaBench.vision(model, placeholder, input);
                    for (PruningPlan plan : plans) {
                        CudaLlavaBench.generate(model, prompt, input, plan, 4, settings.chunk());
                    }
                    return null;
                });
            }
            rounds++;
        } while (System.nanoTime() < end);
        return rounds;
    }

    /** One sample of {@code stage}'s metrics under the properties now set. */
    private Sample measure(Stage stage) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (stage.plan() == null) {
            metrics.put("vision_ms", CudaLlavaBench.vision(model, placeholder, input) * 1e3);
            return new Sample(metrics, 0);
        }
        int steps = settings.steps();
        CudaLlavaBench.Run run = CudaLlavaBench.generate(model, prompt, input, stage.plan(), steps, settings.chunk());
        metrics.put("ttft_ms", run.ttft() * 1e3);
        metrics.put("preprocess_ms", run.preprocess() * 1e3);
        if (steps > 0) {
            metrics.put("decode_ms_per_token", run.decode() * 1e3 / steps);
        }
        if (settings.stages()) {
            metrics.put("prefill_queued_ms", run.prefillQueued() * 1e3);
            CudaLlavaBench.TtftSplit split = CudaLlavaBench.ttftSplit(model, prompt, input, stage.plan(), steps,
                    settings.chunk());
            for (int i = 0; i < SPLIT_METRICS.length; i++) {
                metrics.put(SPLIT_METRICS[i], split.ms()[i]);
            }
            double[] prepare = CudaLlavaBench.prepareSplit(model, prompt, input, stage.plan());
            for (int i = 0; i < PREPARE_METRICS.length; i++) {
                metrics.put(PREPARE_METRICS[i], prepare[i]);
            }
        }
        return new Sample(metrics, run.visualTokens());
    }

    /** One request's metrics in milliseconds, in a fixed order, and its visual tokens (0 for the vision call). */
    private record Sample(Map<String, Double> metrics, int visualTokens) {
    }

    private void report(String shape, String device, Stage stage, int visualTokens, AbSamples samples, PrintStream out) {
        AbSpec spec = settings.spec();
        String budget = stage.plan() == null || stage.plan().budget() == null ? "null" : "\"" + stage.plan().budget() + "\"";
        String where = stage.plan() == null ? "vision call" : "prompt at " + visualTokens + " visual tokens";
        for (String metric : samples.metrics()) {
            StringBuilder summary = new StringBuilder(String.format(Locale.ROOT, "# %-19s %-30s", metric, where));
            for (AbVariant v : spec.variants()) {
                PairedStats s = samples.stats(v, metric);
                out.println(String.format(Locale.ROOT, "{\"bench\":\"llava_cuda_ab\",\"model\":\"%s\",\"device\":\"%s\","
                                + "\"variant\":\"%s\",\"properties\":\"%s\",\"base\":\"%s\",\"stage\":\"%s\",\"prune\":\"%s\","
                                + "\"budget\":%s,\"visual_tokens\":%s,\"metric\":\"%s\",\"rounds\":%d,\"median\":%.4f,"
                                + "\"min\":%.4f,\"ratio_median\":%.4f,\"ratio_q1\":%.4f,\"ratio_q3\":%.4f,\"ratio_min\":%.4f,"
                                + "\"ratio_max\":%.4f}",
                        shape, device, v.label(), v.describe(), spec.base().label(), stage.name(),
                        stage.plan() == null ? "none" : stage.plan().describe(), budget,
                        stage.plan() == null ? "null" : Integer.toString(visualTokens), metric, settings.balancedRounds(),
                        s.median(), s.min(), s.ratioMedian(), s.ratioQ1(), s.ratioQ3(), s.ratioMin(), s.ratioMax()));
                summary.append(String.format(Locale.ROOT, " | %s %.3f (min %.3f)", v.label(), s.median(), s.min()));
                if (v != spec.base()) {
                    summary.append(String.format(Locale.ROOT, " %.3fx [%.3f, %.3f]", s.ratioMedian(), s.ratioQ1(),
                            s.ratioQ3()));
                }
            }
            out.println(summary);
        }
    }
}
