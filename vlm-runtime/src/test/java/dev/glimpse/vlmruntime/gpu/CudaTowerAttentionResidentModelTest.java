package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.TowerAttentionResident;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.VisionWeights;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the vision tower with its images-as-heads attention on the resident kernel
 * ({@code -Dglimpse.cuda.towerAttentionResident=s2|auto}, {@link TowerAttentionResident}). A random CLIP tower
 * (3 layers, 2 heads of 64, 17 tokens, three images as one batch), its third call replayed from a CUDA graph, gives
 * the features of the tiled {@code w2s2} kernel bit for bit (the same attention bits) and stays near the CPU's
 * tower. VTC-CLS on the BF16 LLaVA fixture (4 heads
 * of 16, padded to 64; each image's tower runs image by image with the [CLS] rows composed after the pass) keeps
 * the tokens, the scores and the embeddings of the tiled kernel bit for bit with {@code s2}, op by op and replayed.
 */
class CudaTowerAttentionResidentModelTest {

    private static final String GRAPHS = "glimpse.cuda.visionGraphs";
    /** GPU vs the CPU's F32 activations (normalised), as CudaVisionSmallGridTest. */
    private static final double GPU_VS_CPU = 5e-2;

    @AfterEach
    void clearProperties() {
        System.clearProperty(TowerAttentionResident.PROPERTY);
        System.clearProperty(AttentionSmallGrid.PROPERTY);
        System.clearProperty(GRAPHS);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"BF16, s2", "F16, s2", "BF16, auto"})
    void residentAttentionGivesTheTiledKernelsFeatures(DType dtype, String variant) {
        CudaSupport.requireCuda();
        VisionConfig config = RandomTowers.config("clip");
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 7);
        String label = "clip " + dtype + " towerAttentionResident=" + variant;
        System.setProperty(AttentionSmallGrid.PROPERTY, "w2s2");
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); CpuBackend cpu = new CpuBackend();
             ResidentWeights resident = new ResidentWeights(gpu);
             Tensor hostPixels = RandomTowers.pixels(3, config); Tensor pixels = gpu.upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(tensors, config);
            VisionWeights onDevice = weights.on(resident);
            float[] tiled = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, onDevice), pixels, request,
                    TowerAttentionResident.PROPERTY, "off");
            // auto steps aside for a forced tiled shape, so the resident calls leave the tiled choice to auto
            System.clearProperty(AttentionSmallGrid.PROPERTY);
            long before = gpu.towerAttentionResidentLaunches();
            float[] residentFeatures = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, onDevice), pixels,
                    request, TowerAttentionResident.PROPERTY, variant);
            assertTrue(gpu.towerAttentionResidentLaunches() > before, label + ": the resident kernel ran");
            float[] reference;
            try (VisionOutput out = new VisionTransformer(cpu, weights).encode(hostPixels, request)) {
                reference = out.stackedFeatures().toFloatArray();
            }
            assertArrayEquals(tiled, residentFeatures, 0f, label + " vs w2s2: the same bits");
            RandomTowers.assertNear(label + " vs CPU", reference, residentFeatures, GPU_VS_CPU);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void vtcClsKeepsTheTiledKernelsTokensScoresAndEmbeddings() {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of("llava-clip-llama-bf16");
        List<VisualInput> inputs = fixture.images();
        System.setProperty(AttentionSmallGrid.PROPERTY, "w2s2");
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            CudaBackend gpu = (CudaBackend) model.backend();
            for (String graphs : new String[] {"false", "true"}) {
                System.setProperty(GRAPHS, graphs);
                // Replays do not count as launches, and a graph captured for one image serves the next of its shape.
                long before = gpu.towerAttentionResidentLaunches();
                for (int budget : new int[] {1, 8}) {
                    PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(budget));
                    for (int i = 0; i < inputs.size(); i++) {
                        // twice each way: the first call of a shape runs op by op, later ones may replay
                        PreparedUnder.prepare(model, fixture.prompt(), inputs.get(i), plan,
                                TowerAttentionResident.PROPERTY, "off");
                        PreparedUnder tiled = PreparedUnder.prepare(model, fixture.prompt(), inputs.get(i), plan,
                                TowerAttentionResident.PROPERTY, "off");
                        PreparedUnder.prepare(model, fixture.prompt(), inputs.get(i), plan,
                                TowerAttentionResident.PROPERTY, "s2");
                        PreparedUnder resident = PreparedUnder.prepare(model, fixture.prompt(), inputs.get(i), plan,
                                TowerAttentionResident.PROPERTY, "s2");
                        String what = "graphs=" + graphs + " budget " + budget + " image " + i;
                        assertEquals(tiled.trace(), resident.trace(), what + ": trace (kept cells and scores)");
                        assertArrayEquals(tiled.positions(), resident.positions(), what + ": positions");
                        assertArrayEquals(tiled.embeddings(), resident.embeddings(), 0f, what + ": embeddings");
                        System.out.println("PARITY vtc-cls resident tower attention " + what + " exact");
                    }
                }
                assertTrue(gpu.towerAttentionResidentLaunches() > before, "graphs=" + graphs + ": the resident kernel ran");
            }
        }
    }
}
