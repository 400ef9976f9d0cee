package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.PruningPlan;
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
 * GPU-only: a LLaVA fixture's visual stage with the vision tower replayed from CUDA graphs
 * ({@code glimpse.cuda.visionGraphs}, default on) prepares, for each of two images taken in turn,
 * the embeddings of that image's first (op-by-op) call bit for bit on every later (replayed) call,
 * without pruning and, for the CLIP towers, with VTC-CLS at 8 tokens ([CLS] attention rows taken
 * inside the graph; the SigLIP fixture has no pooling head, whose probe row VTC-CLS would read). They equal the embeddings with graphs off bit for bit: the features are the same bits,
 * and VTC-CLS keeps the same tokens ([CLS] rows off the graph path come from the attention call's
 * capture, equal to the graph path's to F32 rounding).
 */
class CudaVisionGraphsModelTest {

    private static final String PROPERTY = "glimpse.cuda.visionGraphs";

    @AfterEach
    void graphsBackOn() {
        System.clearProperty(PROPERTY);
    }

    /** The prepared prompt's embeddings and positions on the host. */
    private record Prepared(float[] embeddings, int[] positions, int visualTokens) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16", "llava-siglip-qwen2"})
    void replayedVisionPreparesTheEmbeddingsOfOpByOpVision(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        String prompt = fixture.prompt();
        List<VisualInput> inputs = fixture.images();
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            List<PruningPlan> plans = model.config().vision().hasClassToken()
                    ? List.of(PruningPlan.none(), PruningPlan.parse("vtc-cls", TokenBudget.count(8)))
                    : List.of(PruningPlan.none());
            for (PruningPlan plan : plans) {
                Prepared[] on = new Prepared[6];
                for (int call = 0; call < on.length; call++) {
                    on[call] = prepare(model, prompt, inputs.get(call % 2), plan);
                }
                System.setProperty(PROPERTY, "false");
                Prepared[] off = {prepare(model, prompt, inputs.get(0), plan), prepare(model, prompt, inputs.get(1), plan)};
                System.clearProperty(PROPERTY);
                for (int call = 2; call < on.length; call++) {
                    String what = name + " " + plan.describe() + " call " + call;
                    assertArrayEquals(on[call % 2].embeddings(), on[call].embeddings(), what + ": embeddings");
                    assertArrayEquals(on[call % 2].positions(), on[call].positions(), what + ": positions");
                }
                for (int image = 0; image < 2; image++) {
                    String what = name + " " + plan.describe() + " image " + image + " with graphs off";
                    assertEquals(off[image].visualTokens(), on[image].visualTokens(), what + ": visual tokens");
                    assertArrayEquals(off[image].positions(), on[image].positions(), what + ": positions");
                    assertArrayEquals(off[image].embeddings(), on[image].embeddings(), what + ": embeddings (the features"
                            + " are the same bits; under VTC-CLS a difference means other tokens were kept: a near-tie of"
                            + " [CLS] scores that the two row computations round apart)");
                }
            }
        }
    }

    private static Prepared prepare(LlavaModel model, String prompt, VisualInput input, PruningPlan plan) {
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
             Tensor host = model.backend().download(prepared.embeddings())) {
            return new Prepared(host.toFloatArray(), prepared.positions().clone(), prepared.visuals().visualTokens());
        }
    }
}
