package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
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
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only: LLaVA with VTC-CLS and the tower's [CLS] rows in one launch per tapped layer
 * ({@code -Dglimpse.cuda.vtcFused=true}) keeps exactly the tokens the default path (cuBLAS batched GEMM
 * and softmax per layer) keeps, for each fixture image at several budgets, with the tower replayed
 * from its graph (the path the property changes): the pruning trace's kept cells are equal, its
 * scores agree to {@value #RELATIVE} relative, and the prepared embeddings and positions are equal
 * bit for bit (the features do not depend on the rows, and the same rows reach the projector).
 */
class CudaVtcFusedModelTest {

    /** Scores: sums of head means of [CLS] rows that differ by F32 rounding of their dot products. */
    private static final double RELATIVE = 1e-4;

    @AfterEach
    void clearProperty() {
        System.clearProperty(CudaBackend.VTC_FUSED_PROPERTY);
    }

    /** What a prepared request leaves on the host: the trace, embeddings, positions. */
    private record Prepared(PruningTrace trace, float[] embeddings, int[] positions) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16"})
    void fusedRowsKeepTheDefaultPathsTokens(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        String prompt = fixture.prompt();
        List<VisualInput> inputs = fixture.images();
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            for (int budget : new int[] {1, 8, 20}) {
                PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(budget));
                for (int i = 0; i < inputs.size(); i++) {
                    // three calls each way: op by op, captured, replayed
                    Prepared off = thirdCall(model, prompt, inputs.get(i), plan, "false");
                    Prepared on = thirdCall(model, prompt, inputs.get(i), plan, "true");
                    String what = name + " budget " + budget + " image " + i;
                    List<PruningTrace.FrameTrace> offFrames = off.trace().stages().getFirst().frames();
                    List<PruningTrace.FrameTrace> onFrames = on.trace().stages().getFirst().frames();
                    assertEquals(offFrames.size(), onFrames.size(), what + ": frames");
                    for (int f = 0; f < offFrames.size(); f++) {
                        assertEquals(offFrames.get(f).kept(), onFrames.get(f).kept(), what + " frame " + f + ": kept cells");
                        assertScores(what + " frame " + f, offFrames.get(f).scores(), onFrames.get(f).scores());
                    }
                    assertArrayEquals(off.positions(), on.positions(), what + ": positions");
                    assertArrayEquals(off.embeddings(), on.embeddings(), 0f, what + ": embeddings");
                    System.out.println("PARITY vtc fused kept cells " + what + " exact");
                }
            }
        }
    }

    private static Prepared thirdCall(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, String fused) {
        System.setProperty(CudaBackend.VTC_FUSED_PROPERTY, fused);
        try {
            prepare(model, prompt, input, plan);
            prepare(model, prompt, input, plan);
            return prepare(model, prompt, input, plan);
        } finally {
            System.clearProperty(CudaBackend.VTC_FUSED_PROPERTY);
        }
    }

    private static Prepared prepare(LlavaModel model, String prompt, VisualInput input, PruningPlan plan) {
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
             Tensor host = model.backend().download(prepared.embeddings())) {
            return new Prepared(pruning.trace(), host.toFloatArray(), prepared.positions().clone());
        }
    }

    /** Both null (every token kept, nothing scored) or equal in count and within {@link #RELATIVE}. */
    private static void assertScores(String label, List<Float> expected, List<Float> actual) {
        if (expected == null || actual == null) {
            assertEquals(expected, actual, label + ": scores present in one trace only");
            return;
        }
        assertEquals(expected.size(), actual.size(), label + ": score count");
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
            double e = Math.abs((double) expected.get(i) - actual.get(i));
            worst = Math.max(worst, actual.get(i).isNaN() ? Double.POSITIVE_INFINITY
                    : e / (Math.abs(expected.get(i)) + 1e-12 / RELATIVE));
        }
        System.out.println(String.format(Locale.ROOT, "PARITY %-56s maxRelErr=%.3e tol=%.1e", label + " scores", worst,
                RELATIVE));
        assertTrue(worst <= RELATIVE, label + ": scores differ by " + worst + " relative");
    }
}
