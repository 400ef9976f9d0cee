package dev.glimpse.evalharness.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.glimpse.evalharness.synth.MediaKind;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.evalharness.synth.SynthItem;
import dev.glimpse.evalharness.synth.SynthQuestion;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongFunction;

/**
 * {@code glimpse eval synth} as a library call: runs a sweep over the benchmark questions of a
 * split into an output folder and writes the report.
 * <pre>
 * OUT/run.json                  what the results were produced with (model, split, frames, tokens);
 *                               a restart with different settings is refused
 * OUT/results.jsonl             one row per (configuration, question), appended as it goes
 * OUT/results.md                the table ({@link MarkdownTable})
 * OUT/accuracy_vs_tokens.png    the plot ({@link AccuracyPlot})
 * CACHE/clips-.../&lt;id&gt;.mp4      encoded clips (CACHE defaults to OUT/cache)
 * </pre>
 */
public final class SynthEvaluation {

    public static final String RESULTS = "results.jsonl";
    public static final String TABLE = "results.md";
    public static final String PLOT = "accuracy_vs_tokens.png";
    public static final String RUN = "run.json";

    /**
     * What to run.
     *
     * @param model        the model's name or folder, recorded in run.json and the report
     * @param split        the split
     * @param kind         images, clips or both
     * @param limit        questions per kind at most
     * @param configs      the configurations, unpruned first
     * @param frames       frames sampled per clip (0: all)
     * @param maxNewTokens generation cap
     * @param out          output folder
     * @param cache        media cache folder
     */
    public record Settings(String model, Split split, MediaKind kind, int limit, List<EvalConfig> configs, int frames,
                           int maxNewTokens, Path out, Path cache) {
        public Settings {
            Objects.requireNonNull(model, "model");
            configs = List.copyOf(configs);
        }
    }

    /**
     * What a run did.
     *
     * @param questions questions per configuration
     * @param ran       pairs run now
     * @param skipped   pairs found already done
     * @param summaries per configuration
     */
    public record Result(int questions, long ran, long skipped, List<ConfigSummary> summaries) {
    }

    private SynthEvaluation() {
    }

    /**
     * Runs what results.jsonl lacks and writes the table and plot; {@code progress} is given the
     * number of pairs to run and hears each.
     */
    public static Result run(Settings s, SynthBenchmark benchmark, Answerer answerer,
                             LongFunction<EvalRunner.Progress> progress) throws IOException {
        Files.createDirectories(s.out());
        checkRun(s, benchmark);
        List<SynthItem> items = benchmark.evaluationItems(s.split(), s.kind(), s.limit());
        Set<String> ids = new HashSet<>();
        int images = 0;
        for (SynthItem item : items) {
            for (SynthQuestion q : item.questions()) {
                ids.add(q.id());
                images += item instanceof SynthItem.SceneItem ? 1 : 0;
            }
        }
        try (ResultsLog log = ResultsLog.open(s.out().resolve(RESULTS))) {
            long pending = EvalRunner.pending(items, s.configs(), log);
            long total = (long) ids.size() * s.configs().size();
            long ran = new EvalRunner(answerer, new MediaCache(s.cache(), s.frames()))
                    .run(items, s.configs(), log, progress.apply(pending));
            List<ConfigSummary> summaries = ConfigSummary.of(log.rows(), s.configs(), ids);
            List<String> heading = List.of(
                    "# Synthetic benchmark: " + s.split().key() + " split",
                    "",
                    "Model: `" + s.model() + "`. Questions per configuration: " + ids.size() + " (" + images
                            + " on images, " + (ids.size() - images) + " on clips); clips sampled at "
                            + (s.frames() == 0 ? "every frame" : s.frames() + " frames (uniform, endpoints included)")
                            + "; greedy decoding, at most " + s.maxNewTokens() + " new tokens.",
                    "Scoring: exact match after normalisation (case, punctuation, articles, number words); "
                            + "presence by POPE's yes/no extraction. Visual tokens kept: mean over decoder layers.");
            Files.writeString(s.out().resolve(TABLE), MarkdownTable.render(heading, summaries), StandardCharsets.UTF_8);
            AccuracyPlot.write(s.out().resolve(PLOT), AccuracyPlot.title(s.split().key(), ids.size()), summaries);
            return new Result(ids.size(), ran, total - pending, summaries);
        }
    }

    /** Writes run.json, or checks that the one there describes the same run. */
    private static void checkRun(Settings s, SynthBenchmark b) throws IOException {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("model", s.model());
        run.put("split", s.split().key());
        run.put("frames", s.frames());
        run.put("max_new_tokens", s.maxNewTokens());
        run.put("image_size", List.of(b.scenes().width(), b.scenes().height()));
        run.put("clip_frames", b.clips().frames());
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Path file = s.out().resolve(RUN);
        if (Files.exists(file)) {
            Map<?, ?> before = json.readValue(file.toFile(), Map.class);
            Map<?, ?> now = json.readValue(json.writeValueAsString(run), Map.class);
            if (!before.equals(now)) {
                throw new IllegalArgumentException(s.out() + " holds results of another run (" + file.getFileName()
                        + ": " + before + ", now: " + now + "); use another --out");
            }
            return;
        }
        Files.writeString(file, json.writeValueAsString(run) + "\n", StandardCharsets.UTF_8);
    }
}
