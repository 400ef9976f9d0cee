package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
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
 * GPU-only (skipped without CUDA): the vision tower with its GEMM epilogues (fc1's GELU in
 * cuBLASLt, the residual adds of out_proj and fc2 as cuBLASLt's C) gives the features of the same
 * tower with {@code -Dglimpse.cuda.gemmEpilogues=false} (linear, then activation and add kernels)
 * to 16-bit rounding, and both stay near the CPU's F32-activation tower. Random SigLIP
 * (gelu_pytorch_tanh: the epilogue) and CLIP (quick_gelu: the kernel after the GEMM, residual
 * epilogues only) towers with 16-bit weights, three images as one batch (images-as-heads attention,
 * 48-51 rows: the tensor-core path), each variant replayed from its own CUDA graph after its eager
 * and capturing calls.
 */
class CudaVisionEpiloguesTest {

    /** Epilogues on vs off: the same values up to a flipped 16-bit rounding or summation order (normalised). */
    private static final double ON_VS_OFF = 1e-2;
    /** GPU (activations rounded to 16 bits for every product) vs the CPU's F32 activations (normalised). */
    private static final double GPU_VS_CPU = 5e-2;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"siglip, BF16", "siglip, F16", "clip, BF16"})
    void epiloguesGiveTheFeaturesOfTheSeparatePasses(String family, DType dtype) {
        CudaSupport.requireCuda();
        VisionConfig config = RandomTowers.config(family);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 7);
        int batch = 3;
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); CpuBackend cpu = new CpuBackend();
             ResidentWeights store = new ResidentWeights(gpu);
             Tensor hostPixels = RandomTowers.pixels(batch, config); Tensor pixels = gpu.upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(tensors, config);
            float[] on = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, weights.on(store)), pixels, request,
                    CudaBackend.GEMM_EPILOGUES_PROPERTY, "true");
            float[] off = RandomTowers.thirdCallFeatures(gpu, new VisionTransformer(gpu, weights.on(store)), pixels, request,
                    CudaBackend.GEMM_EPILOGUES_PROPERTY, "false");
            float[] reference;
            try (VisionOutput out = new VisionTransformer(cpu, weights).encode(hostPixels, request)) {
                reference = out.stackedFeatures().toFloatArray();
            }
            RandomTowers.assertNear(family + " " + dtype + " epilogues on vs off", off, on, ON_VS_OFF);
            RandomTowers.assertNear(family + " " + dtype + " epilogues on vs CPU", reference, on, GPU_VS_CPU);
            RandomTowers.assertNear(family + " " + dtype + " epilogues off vs CPU", reference, off, GPU_VS_CPU);
        } finally {
            tensors.values().forEach(Tensor::close);
            System.clearProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY);
        }
    }
}
