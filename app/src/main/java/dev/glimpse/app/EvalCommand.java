package dev.glimpse.app;

import dev.glimpse.evalharness.run.EvalConfig;
import dev.glimpse.evalharness.run.MarkdownTable;
import dev.glimpse.evalharness.run.RuntimeAnswerer;
import dev.glimpse.evalharness.run.SynthEvaluation;
import dev.glimpse.evalharness.synth.MediaKind;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.evalharness.synth.SynthExport;
import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitThresholds;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/** {@code glimpse eval}: benchmark runs. */
@Command(name = "eval",
        mixinStandardHelpOptions = true,
        description = "Evaluate a model on a benchmark, export benchmark data, or calibrate AS-ViT thresholds.",
        subcommands = {EvalCommand.Synth.class, EvalCommand.SynthExportCommand.class, CalibrateAsVitCommand.class})
final class EvalCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code glimpse eval synth}: the synthetic benchmark, unpruned and under each strategy x budget. */
    @Command(name = "synth",
            mixinStandardHelpOptions = true,
            description = {"Run the synthetic benchmark (SynthScenes images, SynthClips videos) unpruned and under each",
                    "pruning strategy x budget. Writes OUT/results.jsonl (one row per question, appended as it goes:",
                    "re-running with the same --out resumes), OUT/results.md and OUT/accuracy_vs_tokens.png."})
    static final class Synth implements Callable<Integer> {

        @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face LLaVA checkpoint folder. Default: the shipped demo model (models/glimpse-demo).")
        Path model;

        @Option(names = "--split", defaultValue = "test", paramLabel = "S", description = "train, validation or test. Default: ${DEFAULT-VALUE}.")
        String split;

        @Option(names = "--kind", defaultValue = "all", paramLabel = "K", description = "images, clips or all. Default: ${DEFAULT-VALUE}.")
        String kind;

        @Option(names = "--limit", paramLabel = "N", description = "At most N questions of each kind (default: the split's whole benchmark).")
        Integer limit;

        @Option(names = "--prune", split = ",", paramLabel = "M",
                description = "Strategies to sweep besides unpruned (repeat or comma-separate; none for the baseline only). "
                        + "quota runs the QuoTA planner on each clip as ask --prune quota does (each frame resized to "
                        + "its share; quota+vtc-cls etc. keep it with a selector; image questions take the budget "
                        + "without planning). Default: random, uniform, pool, vtc-cls, fastv, spatten, atp.")
        List<String> prune;

        @Option(names = "--budget", split = ",", paramLabel = "B",
                description = "Budgets for strategies that take one (for quota, per frame or N/video as in ask). "
                        + "Default: 100%%, 50%%, 25%%, 11%%.")
        List<String> budget;

        @Option(names = "--positions", split = ",", paramLabel = "P",
                description = "Rotary positions of the kept visual tokens, swept like --prune: original (their positions "
                        + "in the unpruned prompt), contiguous (re-indexed without gaps), or both (original,contiguous). "
                        + "Default: each stage's own (contiguous before the LLM, original inside the decoder).")
        List<String> positions;

        @Option(names = "--frames", defaultValue = "0", paramLabel = "N", description = "Frames sampled per clip; 0: all. Default: ${DEFAULT-VALUE}.")
        int frames;

        @Option(names = "--max-new-tokens", defaultValue = "" + RuntimeAnswerer.DEFAULT_MAX_NEW_TOKENS, paramLabel = "N",
                description = "Most tokens per answer. Default: ${DEFAULT-VALUE}.")
        int maxNewTokens;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
        String device;

        @Option(names = "--as-vit-thresholds", paramLabel = "FILE", description = "AS-ViT thresholds (needed to sweep as-vit).")
        Path asVitThresholds;

        @Option(names = "--cache", paramLabel = "DIR", description = "Where encoded clips are kept. Default: OUT/cache.")
        Path cache;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
        Path out;

        @Override
        public Integer call() throws IOException {
            model = DemoModel.orDefault(model);
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("--max-new-tokens must be >= 1, got " + maxNewTokens);
            }
            List<PositionMode> modes = positions == null ? List.of()
                    : positions.stream().map(PositionMode::parse).distinct().toList();
            List<EvalConfig> configs = EvalConfig.sweep(prune == null ? EvalConfig.DEFAULT_STRATEGIES : prune,
                    budget == null ? EvalConfig.DEFAULT_BUDGETS : budget, modes, asVit());
            SynthEvaluation.Settings settings = new SynthEvaluation.Settings(model.toString(), Split.ofKey(split),
                    MediaKind.ofKey(kind), limit == null ? Integer.MAX_VALUE : limit, configs, frames, maxNewTokens, out,
                    cache == null ? out.resolve("cache") : cache);
            List<ProgressBar> bars = new ArrayList<>();
            SynthEvaluation.Result result;
            try (VisionLanguageModel vlm = Glimpse.load(model, LoadOptions.defaults().withDevice(Backends.Choice.parse(device)))) {
                result = SynthEvaluation.run(settings, SynthBenchmark.standard(), new RuntimeAnswerer(vlm, maxNewTokens),
                        total -> {
                            ProgressBar bar = new ProgressBar("eval synth", total);
                            bars.add(bar);
                            return bar::step;
                        });
            } finally {
                bars.forEach(ProgressBar::close);
            }
            System.out.print(MarkdownTable.render(List.of(), result.summaries()).stripLeading());
            System.out.println();
            System.out.println(result.ran() + " answers now, " + result.skipped() + " from an earlier run; wrote "
                    + out.resolve(SynthEvaluation.TABLE) + " and " + out.resolve(SynthEvaluation.PLOT));
            return 0;
        }

        /** Loads AS-ViT thresholds into as-vit stages; as-vit without a thresholds file is an error. */
        private UnaryOperator<PruningPlan> asVit() {
            return plan -> {
                if (plan.visionPolicy().isEmpty()) {
                    return plan;
                }
                if (asVitThresholds == null) {
                    throw new IllegalArgumentException("--prune as-vit needs --as-vit-thresholds FILE (stage blocks and "
                            + "thresholds for this model; glimpse eval calibrate-as-vit makes one)");
                }
                AdaptiveSparseVitPolicy policy = new AdaptiveSparseVitPolicy(AsVitThresholds.load(asVitThresholds));
                List<PruningStrategy> stages = new ArrayList<>(plan.stages());
                stages.replaceAll(st -> st instanceof AdaptiveSparseVitPolicy ? policy : st);
                return new PruningPlan(stages, plan.budget());
            };
        }
    }

    /** {@code glimpse eval synth-export}: benchmark data as files for training code. */
    @Command(name = "synth-export",
            mixinStandardHelpOptions = true,
            description = {"Write part of a synthetic-benchmark split as files: OUT/images/*.png, OUT/clips/*.mp4 and",
                    "OUT/<split>.jsonl (id, media, kind, question, answer, type, split, seed, truth) for training code.",
                    "Seeds: train 0.., validation 10,000,000.., test 20,000,000.. (item i has seed first + i)."})
    static final class SynthExportCommand implements Callable<Integer> {

        @Option(names = "--split", defaultValue = "train", paramLabel = "S", description = "train, validation or test. Default: ${DEFAULT-VALUE}.")
        String split;

        @Option(names = "--kind", defaultValue = "all", paramLabel = "K", description = "images, clips or all. Default: ${DEFAULT-VALUE}.")
        String kind;

        @Option(names = "--first", defaultValue = "0", paramLabel = "I", description = "Index of the first item in the split. Default: ${DEFAULT-VALUE}.")
        long first;

        @Option(names = "--count", required = true, paramLabel = "N", description = "Items of each kind to write.")
        long count;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
        Path out;

        @Override
        public Integer call() throws IOException {
            Split s = Split.ofKey(split);
            MediaKind k = MediaKind.ofKey(kind);
            SynthExport.Request request = new SynthExport.Request(s, k, first, count, out);
            long items = count * (k == MediaKind.ALL ? 2 : 1);
            long rows;
            try (ProgressBar bar = new ProgressBar("synth-export", items)) {
                rows = new SynthExport(SynthBenchmark.standard()).export(request, n -> {
                    synchronized (bar) {
                        bar.step();
                    }
                });
            }
            System.out.println("wrote " + rows + " questions about " + items + " items to " + out.resolve(s.key() + ".jsonl"));
            return 0;
        }
    }
}
