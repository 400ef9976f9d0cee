package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only: VTC-CLS scored and selected on the device ({@code attention_row_scores}, then top-k
 * where the scores are) keeps the tokens, with the scores, that scoring the same [CLS] rows on the
 * host kept ({@code -Dglimpse.vtcCls.scores=host}, the path before): the pruning traces (kept
 * cells and every score) and the prepared embeddings and positions are equal bit for bit, for
 * each fixture image, at several budgets, with the tower replayed from its graph and op by op.
 */
class CudaVtcClsScoresTest {

    private static final String GRAPHS = "glimpse.cuda.visionGraphs";

    @AfterEach
    void clearProperties() {
        System.clearProperty(VtcClsSelector.SCORES_PROPERTY);
        System.clearProperty(GRAPHS);
    }

    /** What a prepared request leaves on the host: the trace as JSON, embeddings, positions. */
    private record Prepared(String trace, float[] embeddings, int[] positions) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void deviceScoringKeepsTheHostScoringsTokensAndScores(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        String prompt = fixture.prompt();
        List<VisualInput> inputs = fixture.images();
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            for (String graphs : new String[] {"true", "false"}) {
                System.setProperty(GRAPHS, graphs);
                for (int budget : new int[] {1, 8, 20}) {
                    PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(budget));
                    for (int i = 0; i < inputs.size(); i++) {
                        // twice each way: the first call of a shape runs op by op, later ones may replay
                        prepare(model, prompt, inputs.get(i), plan, "backend");
                        Prepared device = prepare(model, prompt, inputs.get(i), plan, "backend");
                        prepare(model, prompt, inputs.get(i), plan, "host");
                        Prepared host = prepare(model, prompt, inputs.get(i), plan, "host");
                        String what = name + " graphs=" + graphs + " budget " + budget + " image " + i;
                        assertEquals(host.trace(), device.trace(), what + ": trace (kept cells and scores)");
                        assertArrayEquals(host.positions(), device.positions(), what + ": positions");
                        assertArrayEquals(host.embeddings(), device.embeddings(), 0f, what + ": embeddings");
                        System.out.println("PARITY vtc-cls device scores " + what + " exact");
                    }
                }
            }
        }
    }

    private static Prepared prepare(LlavaModel model, String prompt, VisualInput input, PruningPlan plan,
                                    String scores) {
        System.setProperty(VtcClsSelector.SCORES_PROPERTY, scores);
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
             Tensor host = model.backend().download(prepared.embeddings())) {
            return new Prepared(new ObjectMapper().writeValueAsString(pruning.trace()), host.toFloatArray(),
                    prepared.positions().clone());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("pruning trace does not serialise", e);
        } finally {
            System.clearProperty(VtcClsSelector.SCORES_PROPERTY);
        }
    }
}
