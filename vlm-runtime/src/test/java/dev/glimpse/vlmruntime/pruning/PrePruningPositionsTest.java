package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
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
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Positions after pruning before the LLM, on the llava-clip-llama fixture (4 x 4 patch grid,
 * [CLS] dropped by the feature selection, 2-layer Llama decoder), with two images in one prompt:
 * {@link PositionMode#ORIGINAL} gives every kept token, and every text token, the position it has
 * in the unpruned prompt; {@link PositionMode#CONTIGUOUS} (the default) numbers the pruned prompt
 * 0..T-1.
 */
class PrePruningPositionsTest {

    private static final Path FOLDER = DecoderFixture.folder("llava-clip-llama");
    private static final String PROMPT = "USER: <image>\nfirst <image>\nWhat is in the pictures? ASSISTANT:";
    private static VisionLanguageModel vlm;
    private static LlavaModel llava;
    private static VisualInput twoImages;

    @BeforeAll
    static void load() {
        vlm = Glimpse.load(FOLDER, LoadOptions.defaults().withDevice(Backends.Choice.CPU));
        llava = vlm.llava();
        RgbImage image = ImageDecoder.decode(VideoSource.of(FOLDER.resolve("shapes_45x61.png")), MediaLimits.DEFAULTS);
        twoImages = new VisualInput.Images(List.of(image, image));
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    private static RequestPruning pruning(String prune, String budget, PositionMode positions) {
        return RequestPruning.of(PruningPlan.parse(prune, budget == null ? null : TokenBudget.parse(budget)),
                llava.backend(), llava.config(), twoImages, false, null, positions);
    }

    private static PreparedPrompt prepare(VisualHooks hooks) {
        return llava.prepare(PROMPT, twoImages, hooks, true);
    }

    private static float[] prefillLogits(Tensor embeddings, int[] positions) {
        try (DecoderSession s = llava.decoder().newSession(SessionOptions.of(positions.length))) {
            s.prefill(embeddings, positions, null);
            float[] out = new float[llava.config().text().vocabSize()];
            s.copyLogits(out);
            return out;
        }
    }

    private static int[] imageTokenIndices(int[] ids) {
        return IntStream.range(0, ids.length).filter(i -> ids[i] == llava.config().imageTokenId()).toArray();
    }

    /** A full budget under original positions reproduces the unpruned logits exactly (the CPU backend is run-to-run deterministic). */
    @Test
    void aFullBudgetUnderOriginalPositionsIsBitIdenticalToUnpruned() {
        float[] unpruned = unprunedLogits();
        for (String prune : List.of("vtc-cls", "random", "uniform")) {
            try (PreparedPrompt full = prepare(pruning(prune, "100%", PositionMode.ORIGINAL).visualHooks())) {
                assertArrayEquals(IntStream.range(0, full.inputIds().length).toArray(), full.positions(), prune);
                assertArrayEquals(unpruned, prefillLogits(full.embeddings(), full.positions()), prune);
            }
        }
    }

    private static float[] unprunedLogits() {
        try (PreparedPrompt unpruned = prepare(VisualHooks.NONE)) {
            return prefillLogits(unpruned.embeddings(), unpruned.positions());
        }
    }

    @Test
    void underOriginalPositionsEachKeptTokenSitsWhereItIsInTheUnprunedPrompt() {
        RequestPruning pruning = pruning("vtc-cls", "25%", PositionMode.ORIGINAL);
        try (PreparedPrompt unpruned = prepare(VisualHooks.NONE);
             PreparedPrompt pruned = prepare(pruning.visualHooks())) {
            int[] all = unpruned.inputIds();
            int[] ids = pruned.inputIds();
            int[] positions = pruned.positions();
            assertEquals(all.length - 2 * 12, ids.length);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(all[positions[i]], ids[i], "token " + i + " at position " + positions[i]);
            }
            assertEquals(all.length - 1, positions[positions.length - 1], "the question ends where it ends unpruned");
            int[] imageStarts = {imageTokenIndices(all)[0], imageTokenIndices(all)[16]};
            List<Integer> expected = new ArrayList<>();
            List<PruningTrace.FrameTrace> frames = pruning.trace().stages().getFirst().frames();
            for (int image = 0; image < 2; image++) {
                PruningTrace.FrameTrace f = frames.get(image);
                for (PruningTrace.Cell c : f.kept()) {
                    expected.add(imageStarts[image] + c.row() * f.cols() + c.col());
                }
            }
            int[] imagePositions = Arrays.stream(imageTokenIndices(ids)).map(i -> positions[i]).toArray();
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), imagePositions);
        }
    }

    @Test
    void originalPositionsPrefillEqualsTheUnprunedPromptRestrictedToTheKeptTokens() {
        try (PreparedPrompt unpruned = prepare(VisualHooks.NONE);
             PreparedPrompt pruned = prepare(pruning("random", "25%", PositionMode.ORIGINAL).visualHooks());
             Tensor restricted = llava.backend().allocate(DType.F32, pruned.inputIds().length,
                     llava.config().text().hiddenSize())) {
            llava.backend().gatherRows(unpruned.embeddings(), pruned.positions(), restricted);
            float[] expected = prefillLogits(restricted, pruned.positions());
            float[] actual = prefillLogits(pruned.embeddings(), pruned.positions());
            // the projector runs over 8 rows instead of 32: the same arithmetic per row up to GEMM blocking
            assertTrue(maxAbsDiff(expected, actual) <= 1e-4f, "max |diff| " + maxAbsDiff(expected, actual));
            float[] contiguous = prefillLogits(pruned.embeddings(),
                    IntStream.range(0, pruned.inputIds().length).toArray());
            assertTrue(maxAbsDiff(expected, contiguous) > 1e-3f, "positions made no difference");
        }
    }

    @Test
    void contiguousPositionsStayTheDefaultBeforeTheLlmAndOriginalInsideTheDecoder() {
        RequestPruning pruning = pruning("vtc-cls", "25%", null);
        assertEquals(PositionMode.CONTIGUOUS, pruning.promptPositions());
        assertEquals(PositionMode.ORIGINAL, pruning.decoderPositions());
        try (PreparedPrompt pruned = prepare(pruning.visualHooks())) {
            assertArrayEquals(IntStream.range(0, pruned.inputIds().length).toArray(), pruned.positions());
        }
    }

    @Test
    void aPooledTokenUnderOriginalPositionsTakesThePositionOfItsWindowsTopLeftPatch() {
        try (PreparedPrompt unpruned = prepare(VisualHooks.NONE);
             PreparedPrompt pooled = prepare(pruning("pool", null, PositionMode.ORIGINAL).visualHooks())) {
            int first = imageTokenIndices(unpruned.inputIds())[0];
            int[] positions = pooled.positions();
            int[] image = Arrays.stream(imageTokenIndices(pooled.inputIds())).limit(4).map(i -> positions[i]).toArray();
            assertArrayEquals(new int[] {first, first + 2, first + 8, first + 10}, image);
            assertEquals(unpruned.inputIds().length - 1, positions[positions.length - 1]);
        }
    }

    @Test
    void theAnswerSaysWhichPositionsEachStageUsed() {
        Media image = Media.imageFile(FOLDER.resolve("shapes_45x61.png"));
        AskOptions options = AskOptions.defaults().withMaxNewTokens(2)
                .withPruning(PruningPlan.parse("vtc-cls", TokenBudget.parse("25%")));
        Answer byDefault = vlm.ask(image, "What is it?", options);
        assertEquals(PositionMode.CONTIGUOUS, byDefault.pruning().promptPositions());
        assertEquals(PositionMode.ORIGINAL, byDefault.pruning().decoderPositions());
        Answer original = vlm.ask(image, "What is it?", options.withPositions(PositionMode.ORIGINAL));
        assertEquals(PositionMode.ORIGINAL, original.pruning().promptPositions());
        Answer contiguous = vlm.ask(image, "What is it?", options.withPositions(PositionMode.CONTIGUOUS));
        assertEquals(PositionMode.CONTIGUOUS, contiguous.pruning().decoderPositions());
    }
}
