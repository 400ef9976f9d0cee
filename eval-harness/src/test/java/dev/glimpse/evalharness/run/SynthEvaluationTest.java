package dev.glimpse.evalharness.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.evalharness.synth.MediaKind;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The evaluation loop with a stand-in model: resume after a kill, report files, refusal of mixed runs. */
class SynthEvaluationTest {

    private static final int QUESTIONS = 8;
    private static final List<EvalConfig> CONFIGS = EvalConfig.sweep(List.of("random", "vtc-cls", "spatten"),
            List.of("50%", "25%"), p -> p);

    /** Answers "yes" to everything, keeping the budget's share of 100 visual tokens. */
    private static final class YesAnswerer implements Answerer {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public Outcome answer(Media media, String question, EvalConfig config) {
            calls.incrementAndGet();
            PruningPlan plan = config.plan();
            double kept = plan.budget() instanceof TokenBudget.Ratio r ? 100 * r.fraction() : plan.isEmpty() ? 100 : 70;
            return new Outcome("Yes.", 100, kept, kept / 100, 1.5);
        }
    }

    private static SynthEvaluation.Settings settings(Path out, String model) {
        return new SynthEvaluation.Settings(model, Split.TEST, MediaKind.ALL, QUESTIONS / 2, CONFIGS, 0, 16, out,
                out.resolve("cache"));
    }

    private static SynthEvaluation.Result run(Path out, Answerer answerer) throws IOException {
        return SynthEvaluation.run(settings(out, "stand-in"), SynthBenchmark.standard(), answerer, n -> () -> { });
    }

    @Test
    void sweepRunsUnprunedThenEachBudgetOfBudgetTakingStrategies() {
        assertEquals(List.of("none", "random@50%", "random@25%", "vtc-cls@50%", "vtc-cls@25%", "spatten"),
                CONFIGS.stream().map(EvalConfig::key).toList());
    }

    @Test
    void aSweepOverPositionModesRunsEachPrunedConfigurationOncePerModeAndTheBaselineOnce() {
        List<EvalConfig> configs = EvalConfig.sweep(List.of("vtc-cls"), List.of("25%"),
                List.of(PositionMode.ORIGINAL, PositionMode.CONTIGUOUS), p -> p);
        assertEquals(List.of("none", "vtc-cls@25%/original", "vtc-cls@25%/contiguous"),
                configs.stream().map(EvalConfig::key).toList());
        assertEquals(PositionMode.ORIGINAL, configs.get(1).positions());
    }

    @Test
    void quotaRunsAtEachBudgetWithItsWithinFrameStage() {
        List<EvalConfig> configs = EvalConfig.sweep(List.of("quota", "quota+vtc-cls"), List.of("50%", "64/video"),
                List.of(PositionMode.ORIGINAL), p -> p);
        assertEquals(List.of("none", "quota+bilinear@50%/original", "quota+bilinear@64/video/original",
                "quota+vtc-cls@50%/original", "quota+vtc-cls@64/video/original"),
                configs.stream().map(EvalConfig::key).toList());
        assertTrue(configs.stream().skip(1).allMatch(EvalConfig::quota), configs.toString());
        assertEquals("quota+bilinear", configs.get(1).prune());
        assertEquals(TokenBudget.videoTotal(64), configs.get(2).plan().budget());
        assertTrue(!configs.getFirst().quota());
    }

    @Test
    void quotaRowsAreReportedAndResumedLikeTheOtherStrategies(@TempDir Path out) throws IOException {
        List<EvalConfig> configs = EvalConfig.sweep(List.of("quota"), List.of("25%"), p -> p);
        Set<String> quotaAsked = new HashSet<>();
        Answerer answerer = (media, question, config) -> {
            if (config.quota()) {
                quotaAsked.add(media.isVideo() ? "clip" : "image");
            }
            return new Outcome("Yes.", 100, config.quota() ? 25 : 100, config.quota() ? 0.25 : 1, 1.5);
        };
        SynthEvaluation.Settings s = new SynthEvaluation.Settings("stand-in", Split.TEST, MediaKind.ALL, 1, configs, 4,
                16, out, out.resolve("cache"));
        SynthEvaluation.Result r = SynthEvaluation.run(s, SynthBenchmark.standard(), answerer, n -> () -> { });
        assertEquals(Set.of("clip", "image"), quotaAsked);
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(out.resolve(SynthEvaluation.RESULTS))) {
            JsonNode n = json.readTree(line);
            if (n.get("config").asText().equals("quota+bilinear@25%")) {
                assertEquals("quota+bilinear", n.get("prune").asText(), line);
                assertEquals("25%", n.get("budget").asText(), line);
            }
        }
        assertEquals(0.25, r.summaries().get(1).keptShare(), 1e-9);
        assertTrue(Files.readString(out.resolve(SynthEvaluation.TABLE)).contains("| quota+bilinear | 25% |"));
        assertEquals(0, SynthEvaluation.run(s, SynthBenchmark.standard(), answerer, n -> () -> { }).ran());
    }

    @Test
    void rowsAndTableSayWhichPositionsTheAnswerUsed(@TempDir Path out) throws IOException {
        List<EvalConfig> configs = EvalConfig.sweep(List.of("random"), List.of("25%"), List.of(PositionMode.ORIGINAL),
                p -> p);
        List<PositionMode> asked = new java.util.ArrayList<>();
        Answerer answerer = (media, question, config) -> {
            asked.add(config.positions());
            return new Outcome("Yes.", 100, 25, 0.25, 1.5);
        };
        SynthEvaluation.run(new SynthEvaluation.Settings("stand-in", Split.TEST, MediaKind.IMAGES, 1, configs, 0, 16, out,
                out.resolve("cache")), SynthBenchmark.standard(), answerer, n -> () -> { });
        assertTrue(asked.contains(PositionMode.ORIGINAL) && asked.contains(null), asked.toString());
        List<String> lines = Files.readAllLines(out.resolve(SynthEvaluation.RESULTS));
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            assertEquals(n.get("config").asText().equals("none") ? "default" : "original", n.get("positions").asText());
        }
        String table = Files.readString(out.resolve(SynthEvaluation.TABLE));
        assertTrue(table.contains("| random (original positions) | 25% |"), table);
    }

    @Test
    void aKilledRunResumesWithoutDuplicatesOrGaps(@TempDir Path out) throws IOException {
        YesAnswerer first = new YesAnswerer();
        SynthEvaluation.Result r1 = run(out, first);
        int pairs = QUESTIONS * CONFIGS.size();
        assertEquals(pairs, first.calls.get());
        assertEquals(pairs, r1.ran());

        Path results = out.resolve(SynthEvaluation.RESULTS);
        long size = Files.size(results);
        try (FileChannel ch = FileChannel.open(results, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);
        }
        int kept = (int) Files.readAllLines(results).stream().filter(l -> l.endsWith("}")).count();
        assertTrue(kept > 0 && kept < pairs);

        YesAnswerer second = new YesAnswerer();
        SynthEvaluation.Result r2 = run(out, second);
        assertEquals(pairs - kept, second.calls.get());
        assertEquals(kept, r2.skipped());

        ObjectMapper json = new ObjectMapper();
        Set<String> keys = new HashSet<>();
        List<String> lines = Files.readAllLines(results);
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            assertTrue(keys.add(n.get("config").asText() + "\t" + n.get("id").asText()), "duplicate: " + line);
        }
        assertEquals(pairs, keys.size());
        assertEquals(0, run(out, new YesAnswerer()).ran());
    }

    @Test
    void writesTableAndPlot(@TempDir Path out) throws IOException {
        SynthEvaluation.Result r = run(out, new YesAnswerer());
        String table = Files.readString(out.resolve(SynthEvaluation.TABLE));
        assertTrue(table.contains("| vtc-cls | 25% | 8 |"), table);
        assertTrue(table.contains("presence") && table.contains("needle"), table);
        BufferedImage plot = ImageIO.read(out.resolve(SynthEvaluation.PLOT).toFile());
        assertEquals(960, plot.getWidth());
        ConfigSummary unpruned = r.summaries().getFirst();
        assertEquals(QUESTIONS, unpruned.questions());
        assertEquals(1.0, unpruned.keptShare(), 1e-9);
        assertEquals(0.25, r.summaries().get(2).keptShare(), 1e-9);
    }

    @Test
    void aDifferentRunInTheSameFolderIsRefused(@TempDir Path out) throws IOException {
        run(out, new YesAnswerer());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SynthEvaluation.run(
                settings(out, "another-model"), SynthBenchmark.standard(), new YesAnswerer(), n -> () -> { }));
        assertTrue(e.getMessage().contains("use another --out"), e.getMessage());
    }
}
