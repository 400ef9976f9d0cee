package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.VisualInput;
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
                        PreparedUnder.prepare(model, prompt, inputs.get(i), plan,
                                VtcClsSelector.SCORES_PROPERTY, "backend");
                        PreparedUnder device = PreparedUnder.prepare(model, prompt, inputs.get(i), plan,
                                VtcClsSelector.SCORES_PROPERTY, "backend");
                        PreparedUnder.prepare(model, prompt, inputs.get(i), plan,
                                VtcClsSelector.SCORES_PROPERTY, "host");
                        PreparedUnder host = PreparedUnder.prepare(model, prompt, inputs.get(i), plan,
                                VtcClsSelector.SCORES_PROPERTY, "host");
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
}
