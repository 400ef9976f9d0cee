package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.llava.BilinearResize;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only: QuoTA's bilinear resize of a frame's projected grid on the device (two F32 cuBLAS
 * batched matmuls) puts into the prompt what {@link BilinearResize#resize} makes on the host of
 * the same device's unpruned projected rows, for a frame resized down (4 x 4 -> 2 x 2) and one
 * resized up (-> 6 x 5), llava-clip-llama.
 */
class CudaBilinearResizeTest {

    private static final String PROMPT = "USER: <image>\nWhat is in the picture? ASSISTANT:";

    @Test
    void deviceResizeMatchesTheHostResizeOfTheDevicesProjectedRows() {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder("llava-clip-llama");
        RgbImage shapes = PngFixtures.decode(folder.resolve("shapes_45x61.png"));
        VisualInput one = new VisualInput.Images(List.of(shapes));
        try (VisionLanguageModel vlm = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel llava = vlm.llava();
            float[] full = visualRows(llava, RequestPruning.of(PruningPlan.none(), llava.backend(), llava.config(), one));
            int dim = full.length / 16;
            float[] down = visualRows(llava, RequestPruning.of(PruningPlan.parse("bilinear", TokenBudget.count(5)),
                    llava.backend(), llava.config(), one));
            assertEquals(4 * dim, down.length);
            assertArrayEquals(BilinearResize.resize(full, 4, 4, dim, 2, 2), down, 1e-4f, "4x4 -> 2x2");
            float[] up = visualRows(llava, RequestPruning.of(PruningPlan.parse("bilinear", TokenBudget.count(16)),
                    llava.backend(), llava.config(), new VisualInput.Images(List.of(shapes, shapes)), true,
                    FrameBudgets.of(30, 0)));
            assertEquals(30 * dim, up.length);
            assertArrayEquals(BilinearResize.resize(full, 4, 4, dim, 6, 5), up, 1e-4f, "4x4 -> 6x5");
            System.out.println("PARITY bilinear resize on CUDA vs host resize: 2x2 and 6x5 within 1e-4");
        }
    }

    /** The prompt's rows at its image placeholders, read back from the device. */
    private static float[] visualRows(LlavaModel llava, RequestPruning pruning) {
        try (PreparedPrompt p = llava.prepare(PROMPT, pruning.input(), pruning.visualHooks(), true)) {
            Tensor host = llava.backend().download(p.embeddings());
            float[] all;
            try {
                all = host.toFloatArray();
            } finally {
                if (host != p.embeddings()) {
                    host.close();
                }
            }
            int[] visual = p.visualPositions(llava.config().imageTokenId(), -1);
            int dim = all.length / p.inputIds().length;
            float[] out = new float[visual.length * dim];
            for (int i = 0; i < visual.length; i++) {
                System.arraycopy(all, visual[i] * dim, out, i * dim, dim);
            }
            return out;
        }
    }
}
