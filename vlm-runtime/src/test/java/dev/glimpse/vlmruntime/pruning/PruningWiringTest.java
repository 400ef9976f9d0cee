package dev.glimpse.vlmruntime.pruning;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitThresholds;
import dev.glimpse.tokenpruning.AtpSelector;
import dev.glimpse.tokenpruning.AtpThreshold;
import dev.glimpse.tokenpruning.FastVSelector;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.PruningStrategy;
import dev.glimpse.tokenpruning.SpAttenCascade;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pruning plans wired into the llava-clip-llama fixture (4 x 4 patch grid, 3-layer CLIP tower read
 * at hidden state 2, 2-layer Llama decoder): scores against HF, bit identity at full budgets,
 * budgets and raster order, per-layer decoder counts, compositions, determinism, refusals.
 */
class PruningWiringTest {

    private static final Path FOLDER = DecoderFixture.folder("llava-clip-llama");
    private static final Media IMAGE = Media.imageFile(FOLDER.resolve("shapes_45x61.png"));
    private static final String QUESTION = "What is in the picture?";
    private static VisionLanguageModel vlm;
    private static JsonNode hf;
    private static String rawPrompt;

    @BeforeAll
    static void load() throws IOException {
        vlm = Glimpse.load(FOLDER, LoadOptions.defaults().withDevice(Backends.Choice.CPU));
        hf = new ObjectMapper().readTree(FOLDER.resolveSibling("pruning").resolve("vtc-cls-llava-clip-llama.json").toFile());
        rawPrompt = new ObjectMapper().readTree(FOLDER.resolve("expected.json").toFile()).get("cases").get(0)
                .get("prompt").asText();
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    private static Answer ask(PruningPlan plan) {
        return vlm.ask(IMAGE, QUESTION, AskOptions.defaults().withMaxNewTokens(2).withPruning(plan));
    }

    private static PruningPlan plan(PruningStrategy stage, TokenBudget budget) {
        return new PruningPlan(List.of(stage), budget);
    }

    private static float[] hfScores(int startLayer) {
        JsonNode s = hf.get("scores").get(Integer.toString(startLayer));
        float[] out = new float[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) s.get(i).asDouble();
        }
        return out;
    }

    private static float[] traceScores(PruningTrace.Stage stage) {
        List<Float> s = stage.frames().getFirst().scores();
        float[] out = new float[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.get(i);
        }
        return out;
    }

    private static int[] keptRaster(PruningTrace.Stage stage) {
        PruningTrace.FrameTrace f = stage.frames().getFirst();
        return f.kept().stream().mapToInt(c -> c.row() * f.cols() + c.col()).toArray();
    }

    @Test
    void vtcClsScoresEqualHfOutputAttentionsSummedFromTheStartLayerToThePenultimate() {
        for (int start : new int[] {0, 1}) {
            Answer a = ask(plan(new VtcClsSelector(start), TokenBudget.count(8)));
            assertArrayEquals(hfScores(start), traceScores(a.pruning().trace().stages().getFirst()), 2e-6f,
                    "start layer " + start);
        }
    }

    @Test
    void defaultStartLayerBeyondAShallowTowerStartsAtItsPenultimateLayer() {
        Answer a = ask(PruningPlan.parse("vtc-cls", TokenBudget.count(8)));
        assertArrayEquals(hfScores(1), traceScores(a.pruning().trace().stages().getFirst()), 2e-6f);
    }

    @Test
    void vtcClsAtAQuarterKeepsTheTopFourInRasterOrderAndCutsPrefillFlops() {
        Answer a = ask(PruningPlan.parse("vtc-cls", TokenBudget.parse("25%")));
        float[] scores = hfScores(1);
        Integer[] order = IntStream.range(0, 16).boxed().toArray(Integer[]::new);
        Arrays.sort(order, (x, y) -> Float.compare(scores[y], scores[x]));
        int[] top4 = Arrays.stream(order, 0, 4).mapToInt(Integer::intValue).sorted().toArray();
        assertArrayEquals(top4, keptRaster(a.pruning().trace().stages().getFirst()));
        assertEquals(new Answer.VisualStage("projector", 16, 4), a.counts().visual().get(1));
        assertEquals(new Answer.VisualStage("decoder", 4, 4), a.counts().visual().get(2));
        assertArrayEquals(new int[] {4, 4}, a.pruning().visualTokensPerLayer());
        assertEquals(4.0, a.prefill().averageVisualTokens());
        assertTrue(a.prefill().flopsRatio() < 1, "ratio " + a.prefill().flopsRatio());
        assertEquals(a.prefillFlops(), a.prefill().flops());
    }

    /**
     * Run to run, before and after the JIT compiles the kernels, the CPU backend gives the same bits
     * (fixed-order lane sums, deterministic exp/tanh: kernels' WarmColdDeterminismTest), so a budget
     * covering every token must reproduce the unpruned logits exactly, in any order of runs.
     */
    @Test
    void budgetCoveringEveryTokenGivesLogitsBitIdenticalToNone() {
        float[] none = vlm.logits(IMAGE, rawPrompt).lastLogits();
        for (String prune : List.of("vtc-cls", "random", "uniform", "fastv", "vtc-cls+fastv")) {
            for (String budget : List.of("16", "100%")) {
                PruningPlan plan = PruningPlan.parse(prune, TokenBudget.parse(budget));
                assertArrayEquals(none, vlm.logits(IMAGE, rawPrompt, plan).lastLogits(), prune + " at " + budget);
            }
        }
        assertArrayEquals(none, vlm.logits(IMAGE, rawPrompt).lastLogits(), "unpruned, after the pruned runs");
    }

    @Test
    void fastvAtLayerOneHalvesTheVisualTokensOfLaterLayersOnly() {
        Answer a = ask(plan(FastVSelector.withRatio(1, 0.5), null));
        assertArrayEquals(new int[] {16, 8}, a.pruning().visualTokensPerLayer());
        assertEquals(12.0, a.prefill().averageVisualTokens());
        assertEquals(new Answer.VisualStage("decoder", 16, 8), a.counts().visual().get(2));
        PruningTrace.Stage stage = a.pruning().trace().stages().getFirst();
        assertEquals("fastv@layer0", stage.name());
        assertEquals(8, stage.frames().getFirst().kept().size());
        assertTrue(a.prefill().flopsRatio() < 1);
    }

    @Test
    void vtcClsThenSpattenComposeBeforeAndInsideTheDecoder() {
        SpAttenCascade spatten = new SpAttenCascade(new TreeMap<>(Map.of(0, 0.5)), new TreeMap<>());
        Answer a = ask(new PruningPlan(List.of(spatten, VtcClsSelector.defaults()), TokenBudget.count(8)));
        assertEquals(List.of("vtc-cls", "spatten@layer0"),
                a.pruning().trace().stages().stream().map(PruningTrace.Stage::name).toList());
        assertArrayEquals(new int[] {8, 4}, a.pruning().visualTokensPerLayer());
        int[] before = keptRaster(a.pruning().trace().stages().get(0));
        int[] after = keptRaster(a.pruning().trace().stages().get(1));
        assertTrue(Arrays.stream(after).allMatch(t -> Arrays.binarySearch(before, t) >= 0), "cascade never revives");
    }

    @Test
    void spattenHeadScheduleSwitchesHeadsOffAfterItsLayerAndReportsThem() {
        SpAttenCascade heads = new SpAttenCascade(new TreeMap<>(), new TreeMap<>(Map.of(0, 0.5)));
        PruningPlan plan = new PruningPlan(List.of(heads), null);
        Answer a = ask(plan);
        assertArrayEquals(new int[] {4, 2}, a.pruning().headsPerLayer());
        assertArrayEquals(new int[] {16, 16}, a.pruning().visualTokensPerLayer());
        assertArrayEquals(new int[] {4, 4}, ask(PruningPlan.none()).pruning().headsPerLayer());
        float[] none = vlm.logits(IMAGE, rawPrompt).lastLogits();
        float[] pruned = vlm.logits(IMAGE, rawPrompt, plan).lastLogits();
        assertTrue(!Arrays.equals(none, pruned), "switching half the heads of layer 1 off must change the logits");
    }

    @Test
    void spattenTokensAndHeadsCascadeTogether() {
        SpAttenCascade both = new SpAttenCascade(new TreeMap<>(Map.of(0, 0.5)), new TreeMap<>(Map.of(0, 0.75)));
        Answer a = ask(new PruningPlan(List.of(both), null));
        assertArrayEquals(new int[] {16, 8}, a.pruning().visualTokensPerLayer());
        assertArrayEquals(new int[] {4, 3}, a.pruning().headsPerLayer());
    }

    /** Keep-all token and head schedules reproduce the unpruned logits exactly. */
    @Test
    void spattenKeepingEveryTokenAndHeadGivesLogitsBitIdenticalToNone() {
        SpAttenCascade keepAll = new SpAttenCascade(new TreeMap<>(Map.of(0, 1.0)), new TreeMap<>(Map.of(0, 1.0)));
        PruningPlan plan = new PruningPlan(List.of(keepAll), null);
        assertArrayEquals(vlm.logits(IMAGE, rawPrompt).lastLogits(), vlm.logits(IMAGE, rawPrompt, plan).lastLogits());
        assertArrayEquals(new int[] {4, 4}, ask(plan).pruning().headsPerLayer());
    }

    @Test
    void atpKeepsItsSpatialLatticeAndAnAdaptiveCount() {
        AtpSelector atp = new AtpSelector(new TreeSet<>(List.of(0)), new AtpThreshold.MeanFactor(1.0), 2);
        Answer a = ask(plan(atp, null));
        int[] perLayer = a.pruning().visualTokensPerLayer();
        assertEquals(16, perLayer[0]);
        assertTrue(perLayer[1] >= 4 && perLayer[1] <= 16, Arrays.toString(perLayer));
        int[] kept = keptRaster(a.pruning().trace().stages().getFirst());
        for (int lattice : new int[] {5, 7, 13, 15}) {
            assertTrue(Arrays.binarySearch(kept, lattice) >= 0, "SAP cell " + lattice);
        }
    }

    @Test
    void poolAveragesTheFourByFourGridToTwoByTwo() {
        Answer a = ask(PruningPlan.parse("pool", null));
        assertEquals(new Answer.VisualStage("projector", 16, 4), a.counts().visual().get(1));
        PruningTrace.FrameTrace f = a.pruning().trace().stages().getFirst().frames().getFirst();
        assertEquals(2, f.rows());
        assertEquals(2, f.cols());
    }

    @Test
    void asVitPrunesInsideTheTowerByItsThreshold() {
        Answer all = ask(plan(new AdaptiveSparseVitPolicy(new AsVitThresholds(new int[] {0}, new double[] {-1})), null));
        float[] scores = traceScores(all.pruning().trace().stages().getFirst());
        assertEquals(new Answer.VisualStage("vision", 16, 16), all.counts().visual().getFirst());
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        double median = sorted[8];
        long above = IntStream.range(0, 16).filter(i -> scores[i] > median).count();
        Answer some = ask(plan(new AdaptiveSparseVitPolicy(new AsVitThresholds(new int[] {0}, new double[] {median})), null));
        assertEquals(new Answer.VisualStage("vision", 16, (int) above), some.counts().visual().getFirst());
        assertEquals((int) above, some.counts().visual().get(2).in());
        assertEquals("as-vit@block0", some.pruning().trace().stages().getFirst().name());
    }

    @Test
    void randomIsDeterministicForItsSeed() {
        PruningPlan random = PruningPlan.parse("random", TokenBudget.count(5));
        assertArrayEquals(keptRaster(ask(random).pruning().trace().stages().getFirst()),
                keptRaster(ask(random).pruning().trace().stages().getFirst()));
    }

    @Test
    void withoutPruningTheTraceIsEmptyAndTheFlopsRatioIsOne() {
        Answer a = ask(PruningPlan.none());
        assertTrue(a.pruning().trace().stages().isEmpty());
        assertEquals(1.0, a.prefill().flopsRatio());
        assertArrayEquals(new int[] {16, 16}, a.pruning().visualTokensPerLayer());
    }

    @Test
    void aSelectorWithoutBudgetAndABudgetNoStageTakesAreRefused() {
        VisualInput one = new VisualInput.Images(List.of());
        LlavaConfig config = vlm.llava().config();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RequestPruning.of(
                PruningPlan.parse("vtc-cls", null), null, config, one)).getMessage().contains("needs --budget"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RequestPruning.of(
                PruningPlan.parse("spatten", TokenBudget.count(4)), null, config, one)).getMessage()
                .contains("--budget is not used"));
    }

    @Test
    void onevisionRefusesPruningBeforeTheProjectorAndInsideTheTower() {
        LlavaConfig onevision = LlavaConfig.load(DecoderFixture.folder("llava-onevision-qwen2").resolve("config.json"));
        List<PruningPlan> plans = new ArrayList<>(List.of(PruningPlan.parse("vtc-cls", TokenBudget.count(4)),
                PruningPlan.parse("pool", null), PruningPlan.parse("as-vit", null)));
        for (PruningPlan p : plans) {
            String message = assertThrows(IllegalArgumentException.class,
                    () -> RequestPruning.of(p, null, onevision, VisualInput.NONE)).getMessage();
            assertTrue(message.contains("LLaVA-OneVision"), message);
        }
    }
}
