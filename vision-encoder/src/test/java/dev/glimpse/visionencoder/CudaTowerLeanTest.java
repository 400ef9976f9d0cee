package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the vision tower under {@code -Dglimpse.cuda.towerLean=true}
 * ({@link CudaBackend#towerLeanEnabled}: K and V packed in one launch, quick_gelu four elements per
 * thread, and image-by-image layers storing out_proj's 16-bit input from the attention kernel) gives
 * every output of the tower with it off bit for bit: features and taps, eager, capturing and replayed
 * calls (the third call's outputs are compared). Random 3-layer towers at the real token counts and head
 * dims: CLIP-L/336's 577 tokens of head dim 64 with [CLS] and quick_gelu, SigLIP so400m's 729 tokens of
 * head dim 72 with gelu_pytorch_tanh; batch 1 (LLaVA-1.5's one image: the lean attention) and batches of
 * 2 and 3 (images as heads); without taps, with VTC-CLS's [CLS] rows (composed after the pass, so the
 * layer keeps the lean attention), and with taps that read the pass (mean attention received, head
 * output norms: those layers keep the F32 rows, the others run lean). The lean tower's features also
 * stay near the CPU's F32-activation tower.
 */
class CudaTowerLeanTest {

    /** GPU vs the CPU's F32 activations (normalised), as the other vision GPU tests. */
    private static final double GPU_VS_CPU = 5e-2;

    @RegisterExtension
    static final ClassCuda CUDA = new ClassCuda("CUDA tower lean tests");

    private static CudaBackend cuda() {
        return CUDA.backend();
    }

    @ParameterizedTest(name = "{0} {1} batch={2} taps={3}")
    @CsvSource({"clip, BF16, 1, none", "clip, F16, 1, none", "clip, BF16, 1, cls", "clip, BF16, 1, mean",
            "clip, BF16, 2, none", "clip, BF16, 2, cls", "clip, F16, 3, norms", "clip, F32, 1, none",
            "siglip, BF16, 1, none", "siglip, F16, 1, none", "siglip, BF16, 3, none", "siglip, BF16, 1, norms",
            "siglip, BF16, 2, mean"})
    void leanTowerGivesTheDefaultTowersBits(String family, DType dtype, int batch, String taps) {
        VisionConfig config = family.equals("clip")
                ? new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 336, 14, "quick_gelu", 1e-5, OptionalInt.of(64), false)
                : new VisionConfig(VisionConfig.SIGLIP, 144, 576, 3, 2, 3, 378, 14, "gelu_pytorch_tanh", 1e-6,
                OptionalInt.empty(), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full")).withTaps(taps(taps));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, dtype, 17);
        String label = family + " " + dtype + " batch " + batch + " taps " + taps;
        try (ResidentWeights store = new ResidentWeights(cuda()); CpuBackend cpu = new CpuBackend();
             Tensor hostPixels = RandomVisionWeights.pixels(batch, config); Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(host, config);
            VisionWeights onDevice = weights.on(store);
            Map<String, int[]> off = thirdCall(onDevice, pixels, request, "false");
            Map<String, int[]> on = thirdCall(onDevice, pixels, request, "true");
            assertEquals(off.keySet(), on.keySet(), label + ": outputs");
            for (String name : off.keySet()) {
                assertArrayEquals(off.get(name), on.get(name), label + ": " + name + " lean vs default");
            }
            try (VisionOutput reference = new VisionTransformer(cpu, weights).encode(hostPixels,
                    VisionRequest.features(FeatureSelection.of(-1, "full")))) {
                assertNear(label + " lean vs CPU", reference.stackedFeatures().toFloatArray(), on.get("stacked"));
            }
        } finally {
            host.values().forEach(Tensor::close);
            System.clearProperty(CudaBackend.TOWER_LEAN_PROPERTY);
        }
    }

    /** none; cls: [CLS] rows of layers 0 and 2; mean, norms: that tap at layer 1 only. */
    private static VisionTaps taps(String kind) {
        return switch (kind) {
            case "none" -> VisionTaps.NONE;
            case "cls" -> VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 0, 2);
            case "mean" -> VisionTaps.of(EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED), 1);
            case "norms" -> VisionTaps.of(EnumSet.of(VisionTaps.Tap.HEAD_OUTPUT_NORMS), 1);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /**
     * The third call's outputs (eager, capture, replay) of a fresh tower over {@code weights} with
     * towerLean = {@code lean}: the stacked features as raw F32 bits under "stacked", then every tap.
     */
    private static Map<String, int[]> thirdCall(VisionWeights weights, Tensor pixels, VisionRequest request, String lean) {
        System.setProperty(CudaBackend.TOWER_LEAN_PROPERTY, lean);
        try (VisionTransformer tower = new VisionTransformer(cuda(), weights)) {
            tower.encode(pixels, request).close();
            tower.encode(pixels, request).close();
            try (VisionOutput out = tower.encode(pixels, request)) {
                assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                Map<String, int[]> outputs = new LinkedHashMap<>();
                outputs.put("stacked", bits(out.stackedFeatures()));
                for (int b = 0; b < out.images().size(); b++) {
                    String image = "image " + b + " ";
                    out.image(b).taps().forEach((l, t) -> {
                        put(outputs, image + "cls " + l, t.clsAttention());
                        put(outputs, image + "mean " + l, t.meanAttentionReceived());
                        put(outputs, image + "norms " + l, t.headOutputNorms());
                    });
                }
                return outputs;
            }
        }
    }

    private static void put(Map<String, int[]> outputs, String name, Tensor t) {
        if (t != null) {
            outputs.put(name + " " + Arrays.toString(t.shape()), bits(t));
        }
    }

    /** The raw bits of a device tensor's F32 values, downloaded. */
    private static int[] bits(Tensor t) {
        try (Tensor h = cuda().download(t)) {
            float[] v = h.toFloatArray();
            int[] bits = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                bits[i] = Float.floatToRawIntBits(v[i]);
            }
            return bits;
        }
    }

    /** Max |expected - actual| over max(1, max |expected|) at most {@value #GPU_VS_CPU}; prints a PARITY line. */
    private static void assertNear(String label, float[] expected, int[] actualBits) {
        assertEquals(expected.length, actualBits.length, label + ": sizes differ");
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            float actual = Float.intBitsToFloat(actualBits[i]);
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Float.isNaN(actual) ? Double.POSITIVE_INFINITY : Math.abs(expected[i] - actual));
        }
        double normalized = maxErr / Math.max(1.0, maxRef);
        System.out.println(String.format(Locale.ROOT, "PARITY %-48s maxAbsErr=%.3e normErr=%.3e tol=%.1e", label, maxErr,
                normalized, GPU_VS_CPU));
        assertTrue(normalized <= GPU_VS_CPU, label + ": normalised error " + normalized + " > " + GPU_VS_CPU);
    }
}
