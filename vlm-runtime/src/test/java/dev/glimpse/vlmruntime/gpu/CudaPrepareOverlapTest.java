package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.BackendKeepCounter;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only: {@code -Dglimpse.prepare.overlap=true} (VTC-CLS's kept rows gathered on the device from
 * the top-k's indices, nothing read back before the prefill) gives the prompt, the prefill's logits
 * and the pruning trace (kept cells and scores, read back when the prompt closes) of the default
 * path that reads the kept rows back first, bit for bit: both fixture images in one prompt, at
 * several budgets, with the tower replayed from its graph and op by op.
 */
class CudaPrepareOverlapTest {

    private static final String GRAPHS = "glimpse.cuda.visionGraphs";
    private static final String PROMPT = "USER: <image>\nfirst <image>\nWhat is in the pictures? ASSISTANT:";

    @AfterEach
    void clearProperties() {
        System.clearProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY);
        System.clearProperty(GRAPHS);
    }

    /** What a prepared and prefilled request leaves on the host. */
    private record Prepared(int[] ids, int[] positions, float[] embeddings, float[] logits, String trace,
                            int keptOnBackend) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void overlappedPrepareKeepsTheEmbeddingsLogitsAndTraceOfTheReadBackPath(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        VisualInput images = new VisualInput.Images(fixture.images().stream()
                .flatMap(i -> ((VisualInput.Images) i).images().stream()).toList());
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            for (String graphs : new String[] {"true", "false"}) {
                System.setProperty(GRAPHS, graphs);
                for (int budget : new int[] {1, 8, 15}) {
                    PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(budget));
                    // twice each way: the first call of a shape runs op by op, later ones may replay
                    prepare(model, images, plan, false);
                    Prepared readBack = prepare(model, images, plan, false);
                    prepare(model, images, plan, true);
                    Prepared overlapped = prepare(model, images, plan, true);
                    String what = name + " graphs=" + graphs + " budget " + budget;
                    assertEquals(0, readBack.keptOnBackend(), what);
                    assertEquals(2, overlapped.keptOnBackend(), what + ": both images kept on the device");
                    assertArrayEquals(readBack.ids(), overlapped.ids(), what + ": ids");
                    assertArrayEquals(readBack.positions(), overlapped.positions(), what + ": positions");
                    assertArrayEquals(readBack.embeddings(), overlapped.embeddings(), 0f, what + ": embeddings");
                    assertArrayEquals(readBack.logits(), overlapped.logits(), 0f, what + ": logits");
                    assertEquals(readBack.trace(), overlapped.trace(), what + ": trace (kept cells and scores)");
                    System.out.println("PARITY prepare overlap " + what + " exact");
                }
            }
        }
    }

    private static Prepared prepare(LlavaModel model, VisualInput input, PruningPlan plan, boolean overlap) {
        System.setProperty(LlavaModel.PREPARE_OVERLAP_PROPERTY, Boolean.toString(overlap));
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        VisualHooks hooks = pruning.visualHooks();
        BackendKeepCounter counter = BackendKeepCounter.around(hooks);
        float[] logits = new float[model.config().text().vocabSize()];
        int[] ids;
        int[] positions;
        float[] embeddings;
        try (PreparedPrompt prepared = model.prepare(PROMPT, input, counter.in(hooks), true);
             DecoderSession session = model.decoder().newSession(SessionOptions.of(prepared.inputIds().length));
             Tensor host = model.backend().download(prepared.embeddings())) {
            session.prefill(prepared.embeddings(), prepared.positions(), null);
            session.copyLogits(logits);
            ids = prepared.inputIds();
            positions = prepared.positions();
            embeddings = host.toFloatArray();
        }
        try {
            return new Prepared(ids, positions, embeddings, logits, new ObjectMapper().writeValueAsString(pruning.trace()),
                    counter.keptOnBackend());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("pruning trace does not serialise", e);
        }
    }
}
