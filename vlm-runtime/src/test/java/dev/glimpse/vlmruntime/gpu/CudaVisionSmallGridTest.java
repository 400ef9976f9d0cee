package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.VisionWeights;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

/**
 * GPU-only (skipped without CUDA): the vision tower with its 16-bit images-as-heads attention in a
 * small-grid block shape ({@code -Dglimpse.cuda.attentionSmallGrid=w2|w2s2}: the random towers' 17 or
 * 16 tokens x 6 heads are a small grid, run as {@code w4} with the property off) gives the features of
 * the tower with it off, to the 16-bit rounding of the attention output ({@code w2s2} sums its two key
 * halves in another order), and stays near the CPU's F32-activation tower. Random SigLIP and CLIP
 * towers, three images as one batch, each replayed from its own CUDA graph after its eager and
 * capturing calls.
 */
class CudaVisionSmallGridTest {

    /** Small grid vs off with 16-bit weights (normalised): one 16-bit rounding of attention outputs apart. */
    private static final double SMALL_VS_OFF = 1e-2;
    /** GPU vs the CPU's F32 activations (normalised), as CudaVisionLayoutTest. */
    private static final double GPU_VS_CPU = 5e-2;

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({"siglip, BF16, w2s2", "siglip, F16, w2s2", "clip, BF16, w2s2", "clip, BF16, w2", "siglip, F16, w2"})
    void smallGridAttentionGivesTheFeaturesOfTheFourWarpKernel(String family, DType dtype, String shape) {
        CudaSupport.requireCuda();
        VisionConfig config = RandomTowers.config(family);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 7);
        String label = family + " " + dtype + " attentionSmallGrid=" + shape;
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); CpuBackend cpu = new CpuBackend();
             ResidentWeights resident = new ResidentWeights(gpu);
             Tensor hostPixels = RandomTowers.pixels(3, config); Tensor pixels = gpu.upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(tensors, config);
            VisionWeights onDevice = weights.on(resident);
            float[] small = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, onDevice), pixels, request,
                    AttentionSmallGrid.PROPERTY, shape);
            float[] off = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, onDevice), pixels, request,
                    AttentionSmallGrid.PROPERTY, "off");
            float[] reference;
            try (VisionOutput out = new VisionTransformer(cpu, weights).encode(hostPixels, request)) {
                reference = out.stackedFeatures().toFloatArray();
            }
            RandomTowers.assertNear(label + " vs off", off, small, SMALL_VS_OFF);
            RandomTowers.assertNear(label + " vs CPU", reference, small, GPU_VS_CPU);
        } finally {
            tensors.values().forEach(Tensor::close);
            System.clearProperty(AttentionSmallGrid.PROPERTY);
        }
    }
}
