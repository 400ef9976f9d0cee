package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.videoingest.ImageDecoder;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.VideoSource;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.llava.BilinearResize;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bilinear} (QuoTA's within-frame resize): the resize's values against a hand computation
 * with {@code align_corners=False}, then wired into the llava-clip-llama fixture (4 x 4 patch grid):
 * the prompt's visual rows are the projector's output resized, a budget of the whole grid is the
 * unpruned model, per-frame budgets may exceed the grid, and original positions put each new
 * cell at the patch under its centre.
 */
class BilinearFrameResizeTest {

    private static final Path FOLDER = DecoderFixture.folder("llava-clip-llama");
    private static final String PROMPT = "USER: <image>\nWhat is in the picture? ASSISTANT:";
    private static VisionLanguageModel vlm;
    private static RgbImage shapes;

    @BeforeAll
    static void load() {
        vlm = Glimpse.load(FOLDER, LoadOptions.defaults().withDevice(Backends.Choice.CPU));
        shapes = ImageDecoder.decode(VideoSource.of(FOLDER.resolve("shapes_45x61.png")), MediaLimits.DEFAULTS);
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    /**
     * 3 x 3 -> 2 x 2, align_corners=False: scale 3/2, output cell 0 reads source 0.25 (weights 0.75
     * on cell 0, 0.25 on cell 1), cell 1 reads 1.75 (0.25 on cell 1, 0.75 on cell 2). Channel 0 is
     * 10 r + c, linear, so it comes out at the source coordinates (10 * 0.25 + 0.25 = 2.75, ...);
     * channel 1 is (3 r + c)^2, e.g. cell (0, 0) = 0.75 (0.75 * 0 + 0.25 * 1) + 0.25 (0.75 * 9 +
     * 0.25 * 16) = 2.875. (align_corners=True would read sources 0 and 2 and give 0 there.)
     */
    @Test
    void downsamplingMatchesTheHandComputedAlignCornersFalseValues() {
        float[] grid = new float[9 * 2];
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++) {
                grid[(r * 3 + c) * 2] = 10 * r + c;
                grid[(r * 3 + c) * 2 + 1] = (3 * r + c) * (3 * r + c);
            }
        }
        float[] expected = {2.75f, 2.875f, 4.25f, 8.125f, 17.75f, 32.125f, 19.25f, 50.875f};
        assertArrayEquals(expected, resizeOnCpu(grid, new TokenGrid(3, 3), new TokenGrid(2, 2), 2), 1e-5f);
    }

    /**
     * 2 x 2 -> 3 x 3: sources -1/6 (clamped to 0), 1/2 and 7/6 (upper neighbour clamped to the last
     * cell), so corners keep the corner values, edges are midpoints and the centre is the mean.
     */
    @Test
    void upsamplingKeepsTheCornersAndInterpolatesBetweenThem() {
        float[] grid = {0, 2, 4, 6};
        float[] expected = {0, 1, 2, 2, 3, 4, 4, 5, 6};
        assertArrayEquals(expected, resizeOnCpu(grid, new TokenGrid(2, 2), new TokenGrid(3, 3), 1), 1e-6f);
    }

    @Test
    void thePromptHoldsTheProjectedGridResized() {
        VisualInput input = new VisualInput.Images(List.of(shapes));
        float[] unpruned = visualRows(prepare(input, PruningPlan.none(), null));
        int dim = unpruned.length / 16;
        float[] resized = visualRows(prepare(input, PruningPlan.parse("bilinear", TokenBudget.count(5)), null));
        // 5 tokens: h = w = 2, 3 x 2 = 6 > 5 -> 2 x 2
        assertEquals(4 * dim, resized.length);
        assertArrayEquals(BilinearResize.resize(unpruned, 4, 4, dim, 2, 2), resized, 1e-4f);
    }

    @Test
    void aBudgetOfTheWholeGridGivesTheUnprunedLogits() {
        Media image = Media.image(shapes);
        float[] none = vlm.logits(image, PROMPT).lastLogits();
        for (String budget : List.of("16", "100%")) {
            PruningPlan plan = PruningPlan.parse("bilinear", TokenBudget.parse(budget));
            assertArrayEquals(none, vlm.logits(image, PROMPT, plan).lastLogits(), "bilinear at " + budget);
        }
    }

    @Test
    void perFrameBudgetsResizeEachFrameAndMayExceedItsGrid() {
        Media frames = Media.videoFrames(List.of(shapes, shapes, shapes));
        AskOptions options = AskOptions.defaults().withMaxNewTokens(2)
                .withPruning(PruningPlan.parse("bilinear", TokenBudget.count(16))).withFrameBudgets(9, 0, 30);
        Answer a = vlm.ask(frames, "What is in the video?", options);
        // 9 -> 3 x 3; frame 1 dropped; 30 -> h = w = 5, 6 x 5 = 30 -> 6 x 5 (upsampled from 4 x 4)
        assertEquals(new Answer.VisualStage("projector", 32, 39), a.counts().visual().get(1));
        PruningTrace.Stage stage = a.pruning().trace().stages().getFirst();
        assertEquals("bilinear", stage.strategy());
        assertEquals(List.of(3, 4, 6), stage.frames().stream().map(PruningTrace.FrameTrace::rows).toList());
        assertEquals(List.of(9, 0, 30), stage.frames().stream().map(f -> f.kept().size()).toList());
        assertEquals(List.of(9, 0, 30), stage.frames().stream().map(PruningTrace.FrameTrace::budget).toList());
    }

    @Test
    void aFrameShareBeyondTheWholeVideoIsRefused() {
        Media frames = Media.videoFrames(List.of(shapes, shapes));
        AskOptions options = AskOptions.defaults().withMaxNewTokens(1)
                .withPruning(PruningPlan.parse("bilinear", TokenBudget.count(16))).withFrameBudgets(33, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vlm.ask(frames, "q", options));
        assertTrue(e.getMessage().contains("more than the video's 32 tokens"), e.getMessage());
    }

    @Test
    void originalPositionsPutEachResizedCellAtTheSourceCellUnderItsCentre() {
        VisualInput input = new VisualInput.Images(List.of(shapes));
        try (PreparedPrompt none = vlm.llava().prepare(PROMPT, input, VisualHooks.NONE, true)) {
            int first = firstImagePosition(none);
            RequestPruning pruning = RequestPruning.of(PruningPlan.parse("bilinear", TokenBudget.count(4)),
                    vlm.llava().backend(), vlm.llava().config(), input, false, null, PositionMode.ORIGINAL);
            try (PreparedPrompt p = vlm.llava().prepare(PROMPT, input, pruning.visualHooks(), true)) {
                int[] visual = p.visualPositions(vlm.llava().config().imageTokenId(), -1);
                int[] positions = Arrays.stream(visual).map(i -> p.positions()[i]).toArray();
                // 4 x 4 -> 2 x 2: centres over source cells (1, 1), (1, 3), (3, 1), (3, 3)
                assertArrayEquals(new int[] {first + 5, first + 7, first + 13, first + 15}, positions);
            }
        }
    }

    @Test
    void underOriginalPositionsCellsOfAnUpsampledFrameShareThePatchUnderTheirCentres() {
        VisualInput input = new VisualInput.Images(List.of(shapes));
        try (PreparedPrompt none = vlm.llava().prepare(PROMPT, input, VisualHooks.NONE, true)) {
            int first = firstImagePosition(none);
            // two frames, the second dropped: a share may reach the video's 32 tokens
            RequestPruning pruning = RequestPruning.of(PruningPlan.parse("bilinear", TokenBudget.count(16)),
                    vlm.llava().backend(), vlm.llava().config(), new VisualInput.Images(List.of(shapes, shapes)), true,
                    FrameBudgets.of(20, 0), PositionMode.ORIGINAL);
            try (PreparedPrompt p = vlm.llava().prepare(PROMPT, pruning.input(), pruning.visualHooks(), true)) {
                int[] visual = p.visualPositions(vlm.llava().config().imageTokenId(), -1);
                int[] positions = Arrays.stream(visual).map(i -> p.positions()[i] - first).toArray();
                // 20 -> 5 x 4 from 4 x 4: row centres over source rows 0, 1, 2, 2, 3; columns one-to-one
                int[] expected = new int[20];
                int[] sourceRow = {0, 1, 2, 2, 3};
                for (int i = 0; i < 20; i++) {
                    expected[i] = sourceRow[i / 4] * 4 + i % 4;
                }
                assertArrayEquals(expected, positions);
                assertEquals(first + 16, p.positions()[visual[19] + 1], "the text after the image continues past 16");
            }
        }
    }

    private static float[] resizeOnCpu(float[] grid, TokenGrid from, TokenGrid to, int dim) {
        try (CpuBackend backend = new CpuBackend();
             Tensor features = Tensor.of(grid, from.size(), dim);
             Tensor out = BilinearFrameResize.resize(backend, features, from, to)) {
            return out.toFloatArray();
        }
    }

    private static PreparedPrompt prepare(VisualInput input, PruningPlan plan, PositionMode positions) {
        RequestPruning pruning = RequestPruning.of(plan, vlm.llava().backend(), vlm.llava().config(), input, false, null,
                positions);
        return vlm.llava().prepare(PROMPT, input, pruning.visualHooks(), true);
    }

    /** The embedding rows at the image placeholders of {@code prompt}, which it closes. */
    private static float[] visualRows(PreparedPrompt prompt) {
        try (prompt) {
            LlavaModel llava = vlm.llava();
            int[] visual = prompt.visualPositions(llava.config().imageTokenId(), -1);
            float[] all = prompt.embeddings().toFloatArray();
            int dim = all.length / prompt.inputIds().length;
            float[] out = new float[visual.length * dim];
            for (int i = 0; i < visual.length; i++) {
                System.arraycopy(all, visual[i] * dim, out, i * dim, dim);
            }
            return out;
        }
    }

    private static int firstImagePosition(PreparedPrompt prompt) {
        int[] visual = prompt.visualPositions(vlm.llava().config().imageTokenId(), -1);
        return prompt.positions()[visual[0]];
    }
}
