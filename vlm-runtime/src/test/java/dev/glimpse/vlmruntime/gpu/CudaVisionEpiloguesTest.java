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

import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
        VisionConfig config = family.equals("clip")
                ? new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 56, 14, "quick_gelu", 1e-5, OptionalInt.of(64), false)
                : new VisionConfig(VisionConfig.SIGLIP, 128, 512, 3, 2, 3, 56, 14, "gelu_pytorch_tanh", 1e-6,
                OptionalInt.empty(), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 7);
        int batch = 3;
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); CpuBackend cpu = new CpuBackend();
             ResidentWeights store = new ResidentWeights(gpu);
             Tensor hostPixels = pixels(batch, config); Tensor pixels = gpu.upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(tensors, config);
            float[] on = features(gpu, new VisionTransformer(gpu, weights.on(store)), pixels, request, "true");
            float[] off = features(gpu, new VisionTransformer(gpu, weights.on(store)), pixels, request, "false");
            float[] reference;
            try (VisionOutput out = new VisionTransformer(cpu, weights).encode(hostPixels, request)) {
                reference = out.stackedFeatures().toFloatArray();
            }
            assertNear(family + " " + dtype + " epilogues on vs off", off, on, ON_VS_OFF);
            assertNear(family + " " + dtype + " epilogues on vs CPU", reference, on, GPU_VS_CPU);
            assertNear(family + " " + dtype + " epilogues off vs CPU", reference, off, GPU_VS_CPU);
        } finally {
            tensors.values().forEach(Tensor::close);
            System.clearProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY);
        }
    }

    /** The stacked features of the third call (eager, capture, replay) with the epilogues property set to {@code epilogues}. */
    private static float[] features(CudaBackend gpu, VisionTransformer tower, Tensor pixels, VisionRequest request,
                                    String epilogues) {
        System.setProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY, epilogues);
        try (tower) {
            tower.encode(pixels, request).close();
            tower.encode(pixels, request).close();
            try (VisionOutput out = tower.encode(pixels, request); Tensor host = gpu.download(out.stackedFeatures())) {
                return host.toFloatArray();
            }
        }
    }

    private static void assertNear(String label, float[] expected, float[] actual, double tol) {
        assertTrue(expected.length == actual.length, label + ": sizes differ");
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : Math.abs(expected[i] - actual[i]));
        }
        double normalized = maxErr / Math.max(1.0, maxRef);
        System.out.println(String.format(Locale.ROOT, "PARITY %-48s maxAbsErr=%.3e normErr=%.3e tol=%.1e", label, maxErr,
                normalized, tol));
        assertTrue(normalized <= tol, label + ": normalised error " + normalized + " > " + tol);
    }

    private static Tensor pixels(int batch, VisionConfig config) {
        Random random = new Random(11);
        int size = config.imageSize();
        float[] v = new float[batch * 3 * size * size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.of(v, batch, 3, size, size);
    }
}
