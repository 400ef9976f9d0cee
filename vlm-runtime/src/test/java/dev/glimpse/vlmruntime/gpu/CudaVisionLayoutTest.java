package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionLayout;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.VisionWeights;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * GPU-only (skipped without CUDA): the vision tower under {@code -Dglimpse.cuda.visionLayout=true}
 * (layer_norm1 writing the token-major attention input itself, q/k/v as one stacked product over the
 * concatenated weights, and with 16-bit weights the attention storing out_proj's 16-bit image-major
 * input itself) gives the features of the same tower with the property off. F32 weights: the same
 * bits (the token-major kernel stores the layer norm's values, a stack of F32 weights runs its three
 * products as before, and F32 attention keeps its copy); F16/BF16 weights: to 16-bit rounding (the
 * attention and layer norm kernels store the copies' bits, but the batched cuBLASLt product may sum in
 * another order). Both stay near the CPU's F32-activation tower. Random SigLIP and CLIP
 * towers, three images as one batch (images-as-heads attention), each variant replayed from its own
 * CUDA graph after its eager and capturing calls.
 */
class CudaVisionLayoutTest {

    /** Layout on vs off with 16-bit weights: another summation order in the stacked product (normalised). */
    private static final double ON_VS_OFF = 1e-2;
    /** GPU vs the CPU's F32 activations (normalised); F32 weights run F32 throughout. */
    private static final double GPU_VS_CPU = 5e-2;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"siglip, BF16", "siglip, F16", "siglip, F32", "clip, BF16", "clip, F32"})
    void copyFreeLayoutGivesTheFeaturesOfTheCopies(String family, DType dtype) {
        CudaSupport.requireCuda();
        VisionConfig config = RandomTowers.config(family);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 7);
        int batch = 3;
        String label = family + " " + dtype + " visionLayout";
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); CpuBackend cpu = new CpuBackend();
             ResidentWeights stacked = new ResidentWeights(gpu); ResidentWeights separate = new ResidentWeights(gpu);
             Tensor hostPixels = RandomTowers.pixels(batch, config); Tensor pixels = gpu.upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(tensors, config);
            System.setProperty(VisionLayout.PROPERTY, "true");
            VisionWeights onDevice = weights.on(stacked);
            assertNotNull(onDevice.layers().getFirst().qkv(), label + ": q/k/v placed as one stack");
            float[] on = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, onDevice), pixels, request,
                    VisionLayout.PROPERTY, "true");
            System.setProperty(VisionLayout.PROPERTY, "false");
            float[] off = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, weights.on(separate)), pixels, request,
                    VisionLayout.PROPERTY, "false");
            float[] reference;
            try (VisionOutput out = new VisionTransformer(cpu, weights).encode(hostPixels, request)) {
                reference = out.stackedFeatures().toFloatArray();
            }
            RandomTowers.assertNear(label + " on vs off", off, on, dtype == DType.F32 ? 0.0 : ON_VS_OFF);
            RandomTowers.assertNear(label + " on vs CPU", reference, on, GPU_VS_CPU);
            RandomTowers.assertNear(label + " off vs CPU", reference, off, GPU_VS_CPU);
        } finally {
            tensors.values().forEach(Tensor::close);
            System.clearProperty(VisionLayout.PROPERTY);
        }
    }
}
