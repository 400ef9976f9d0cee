package dev.glimpse.vlmruntime.pruning;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
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
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code -Dglimpse.prepare.overlap=true} on the CPU backend (the same Java path as on a GPU): VTC-CLS
 * leaves its kept rows on the backend and the model gathers them there, and the prepared prompt
 * (ids, positions, embeddings, visual counts), the prefill's logits and the pruning trace (kept
 * cells and scores, read back when the prompt closes) are those of the path that reads the rows
 * back first, bit for bit, and so are a whole answer's tokens and trace; under original positions
 * the hook is not asked for rows on the backend.
 * Two images in one prompt, F32 and BF16 checkpoints (llava-clip-llama, llava-clip-llama-bf16).
 */
class PrepareOverlapTest {

    private static final String PROMPT = "USER: <image>\nfirst <image>\nWhat is in the pictures? ASSISTANT:";

    @AfterEach
    void clearProperty() {
        System.clearProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY);
    }

    /** What one prepare leaves on the host, and how many images the hook kept on the backend. */
    private record Prepared(int[] ids, int[] positions, float[] embeddings, PreparedPrompt.VisualStats visuals,
                            float[] logits, String trace, int keptOnBackend) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void overlapKeepsThePromptLogitsAndTraceOfTheReadBackPath(String fixture) {
        try (VisionLanguageModel vlm = load(fixture)) {
            LlavaModel llava = vlm.llava();
            VisualInput images = twoImages(fixture);
            for (String budget : List.of("1", "25%", "15")) {
                PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.parse(budget));
                Prepared before = prepare(llava, images, plan, PositionMode.CONTIGUOUS, false);
                Prepared overlapped = prepare(llava, images, plan, PositionMode.CONTIGUOUS, true);
                String what = fixture + " budget " + budget;
                assertEquals(0, before.keptOnBackend(), what);
                assertEquals(2, overlapped.keptOnBackend(), what + ": both images kept on the backend");
                assertSame(before, overlapped, what);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void originalPositionsReadTheRowsBackEvenWithOverlap(String fixture) {
        try (VisionLanguageModel vlm = load(fixture)) {
            LlavaModel llava = vlm.llava();
            VisualInput images = twoImages(fixture);
            PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.parse("25%"));
            Prepared before = prepare(llava, images, plan, PositionMode.ORIGINAL, false);
            Prepared overlapped = prepare(llava, images, plan, PositionMode.ORIGINAL, true);
            assertEquals(0, overlapped.keptOnBackend(), fixture);
            assertSame(before, overlapped, fixture);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void anAnswerWithOverlapHasTheTokensAndTraceOfOneWithout(String fixture) throws JsonProcessingException {
        try (VisionLanguageModel vlm = load(fixture)) {
            Media image = Media.imageFile(DecoderFixture.folder(fixture).resolve("shapes_45x61.png"));
            AskOptions options = AskOptions.defaults().withMaxNewTokens(4)
                    .withPruning(PruningPlan.parse("vtc-cls", TokenBudget.parse("25%")));
            System.setProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY, "false");
            Answer before = vlm.ask(image, "What is it?", options);
            System.setProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY, "true");
            Answer overlapped = vlm.ask(image, "What is it?", options);
            assertArrayEquals(before.tokenIds(), overlapped.tokenIds(), fixture + ": tokens");
            ObjectMapper json = new ObjectMapper();
            assertEquals(json.writeValueAsString(before.pruning().trace()),
                    json.writeValueAsString(overlapped.pruning().trace()), fixture + ": trace");
        }
    }

    private static void assertSame(Prepared expected, Prepared actual, String what) {
        assertArrayEquals(expected.ids(), actual.ids(), what + ": ids");
        assertArrayEquals(expected.positions(), actual.positions(), what + ": positions");
        assertArrayEquals(expected.embeddings(), actual.embeddings(), 0f, what + ": embeddings");
        assertEquals(expected.visuals().visualTokens(), actual.visuals().visualTokens(), what + ": visual tokens");
        assertEquals(expected.visuals().visualIn(), actual.visuals().visualIn(), what + ": visual in");
        assertEquals(expected.visuals().visualKept(), actual.visuals().visualKept(), what + ": visual kept");
        assertArrayEquals(expected.logits(), actual.logits(), 0f, what + ": logits");
        assertEquals(expected.trace(), actual.trace(), what + ": trace (kept cells and scores)");
    }

    /**
     * One prepare and prefill under {@code overlap}; the trace is read after the prompt closed, so a
     * selection left on the backend must have been read back by then.
     */
    private static Prepared prepare(LlavaModel llava, VisualInput input, PruningPlan plan, PositionMode positions,
                                    boolean overlap) {
        System.setProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY, Boolean.toString(overlap));
        RequestPruning pruning = RequestPruning.of(plan, llava.backend(), llava.config(), input, false, null, positions);
        VisualHooks hooks = pruning.visualHooks();
        BackendKeepCounter counting = BackendKeepCounter.around(hooks);
        int[] ids;
        int[] promptPositions;
        float[] embeddings;
        PreparedPrompt.VisualStats visuals;
        float[] logits = new float[llava.config().text().vocabSize()];
        try (PreparedPrompt prompt = llava.prepare(PROMPT, input, counting.in(hooks), true);
             DecoderSession session = llava.decoder().newSession(SessionOptions.of(prompt.inputIds().length))) {
            session.prefill(prompt.embeddings(), prompt.positions(), null);
            session.copyLogits(logits);
            ids = prompt.inputIds();
            promptPositions = prompt.positions();
            embeddings = prompt.embeddings().toFloatArray();
            visuals = prompt.visuals();
        }
        try {
            return new Prepared(ids, promptPositions, embeddings, visuals, logits,
                    new ObjectMapper().writeValueAsString(pruning.trace()), counting.keptOnBackend());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("pruning trace does not serialise", e);
        }
    }

    private static VisionLanguageModel load(String fixture) {
        return Glimpse.load(DecoderFixture.folder(fixture), LoadOptions.defaults().withDevice(Backends.Choice.CPU));
    }

    private static VisualInput twoImages(String fixture) {
        Path folder = DecoderFixture.folder(fixture);
        RgbImage shapes = ImageDecoder.decode(VideoSource.of(folder.resolve("shapes_45x61.png")), MediaLimits.DEFAULTS);
        RgbImage gradient = ImageDecoder.decode(VideoSource.of(folder.resolve("gradient_64x40.png")), MediaLimits.DEFAULTS);
        return new VisualInput.Images(List.of(shapes, gradient));
    }
}
