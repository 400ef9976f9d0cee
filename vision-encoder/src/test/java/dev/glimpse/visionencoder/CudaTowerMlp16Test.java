package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the vision tower under {@code -Dglimpse.cuda.towerMlp16=true}
 * ({@link CudaBackend#towerMlp16Enabled}: fc1 rounded to 16 bits by its GEMM, quick_gelu in place on those
 * rows). On a random 3-layer CLIP-shaped tower (577 tokens, head dim 64, quick_gelu) at batch 1 and 2, with
 * and without VTC-CLS's [CLS] taps, with towerLean off and on, the replayed tower's features
 * <ul>
 *   <li>stay near the CPU's F32-activation tower, within the tolerance of the other vision GPU tests, and</li>
 *   <li>land on a reference that rounds fc1's output to the weights' dtype before quick_gelu (HF's bf16
 *       {@code CLIPMLP}: the same CUDA tower, eager, with fc1 + activation composed of the F32 product, a
 *       rounding copy and the activation) at most half as far, on average, as today's path does.</li>
 * </ul>
 * SigLIP's gelu_pytorch_tanh keeps its GELU epilogue: the same bits with the property on.
 */
class CudaTowerMlp16Test {

    /** GPU vs the CPU's F32 activations (normalised), as the other vision GPU tests. */
    private static final double GPU_VS_CPU = 5e-2;

    private static final VisionConfig CLIP = new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 336, 14,
            "quick_gelu", 1e-5, OptionalInt.of(64), false);

    @RegisterExtension
    static final ClassCuda CUDA = new ClassCuda("CUDA tower MLP16 tests");

    private static CudaBackend cuda() {
        return CUDA.backend();
    }

    @ParameterizedTest(name = "{0} batch={1} taps={2} lean={3}")
    @CsvSource({"BF16, 1, none, false", "BF16, 1, cls, false", "BF16, 2, none, false", "BF16, 2, cls, false",
            "BF16, 1, none, true", "BF16, 1, cls, true", "BF16, 2, none, true", "F16, 1, none, true"})
    void towerTracksTheRoundedFc1ReferenceAndStaysNearTheCpu(DType dtype, int batch, String taps, String lean) {
        VisionTaps tapSet = taps.equals("cls") ? VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 0, 2)
                : VisionTaps.NONE;
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full")).withTaps(tapSet);
        Map<String, Tensor> host = RandomVisionWeights.generate(CLIP, dtype, 23);
        String label = "clip " + dtype + " batch " + batch + " taps " + taps + " lean " + lean;
        try (ResidentWeights store = new ResidentWeights(cuda()); CpuBackend cpu = new CpuBackend();
             Tensor hostPixels = RandomVisionWeights.pixels(batch, CLIP); Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(host, CLIP);
            VisionWeights onDevice = weights.on(store);
            float[] off = thirdCallFeatures(onDevice, pixels, request, "false", lean);
            float[] on = thirdCallFeatures(onDevice, pixels, request, "true", lean);
            assertFalse(Arrays.equals(off, on), label + ": towerMlp16 changed no feature");
            float[] reference;
            try (VisionTransformer tower = new VisionTransformer(roundingFc1(cuda()), onDevice);
                 VisionOutput out = withProperties("false", lean, () -> tower.encode(pixels, request))) {
                reference = downloaded(out.stackedFeatures());
            }
            double offError = meanAbsDiff(reference, off);
            double onError = meanAbsDiff(reference, on);
            System.out.println(String.format(Locale.ROOT, "MLP16 %-40s mean |features - rounded-fc1 reference|:"
                    + " default %.3e, towerMlp16 %.3e", label, offError, onError));
            assertTrue(2 * onError <= offError, label + ": towerMlp16 is " + onError
                    + " from the rounded-fc1 reference on average, the default " + offError);
            try (VisionOutput expected = new VisionTransformer(cpu, weights).encode(hostPixels,
                    VisionRequest.features(FeatureSelection.of(-1, "full")))) {
                assertNear(label + " towerMlp16 vs CPU", expected.stackedFeatures().toFloatArray(), on);
            }
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    @Test
    void siglipGeluTanhKeepsItsEpilogueAndItsBits() {
        VisionConfig config = new VisionConfig(VisionConfig.SIGLIP, 144, 576, 3, 2, 3, 378, 14, "gelu_pytorch_tanh",
                1e-6, OptionalInt.empty(), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, DType.BF16, 29);
        try (ResidentWeights store = new ResidentWeights(cuda()); Tensor hostPixels = RandomVisionWeights.pixels(1, config);
             Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights onDevice = VisionWeights.of(host, config).on(store);
            assertArrayEquals(thirdCallFeatures(onDevice, pixels, request, "false", "true"),
                    thirdCallFeatures(onDevice, pixels, request, "true", "true"), "siglip: towerMlp16 vs default");
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    /** The stacked features of the third call (eager, capture, replay) of a fresh tower under the two properties. */
    private static float[] thirdCallFeatures(VisionWeights weights, Tensor pixels, VisionRequest request, String mlp16,
                                             String lean) {
        try (VisionTransformer tower = new VisionTransformer(cuda(), weights)) {
            return withProperties(mlp16, lean, () -> {
                tower.encode(pixels, request).close();
                tower.encode(pixels, request).close();
                try (VisionOutput out = tower.encode(pixels, request)) {
                    assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                    return downloaded(out.stackedFeatures());
                }
            });
        }
    }

    /**
     * The CUDA backend with fc1 + activation into 16-bit rows composed as HF's bf16 MLP rounds it: the F32
     * product, rounded to the rows' dtype by a copy, widened back, then the activation (one rounding). Every
     * other call goes to the backend; a tower over it runs eagerly (it is no {@link CudaBackend}).
     */
    private static Backend roundingFc1(CudaBackend target) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("linearActivation") && ((Tensor) args[4]).dtype() != DType.F32) {
                        Tensor out = (Tensor) args[4];
                        try (Tensor pre = target.allocate(DType.F32, out.shape());
                             Tensor rounded = target.allocate(out.dtype(), out.shape())) {
                            target.linear((Tensor) args[1], (Tensor) args[2], (Tensor) args[3], pre);
                            target.copy(pre, rounded);
                            target.copy(rounded, pre);
                            target.activation((Activation) args[0], pre, out);
                            target.synchronize();
                        }
                        return null;
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** body's result under towerMlp16 = {@code mlp16} and towerLean = {@code lean}, both restored after. */
    private static <T> T withProperties(String mlp16, String lean, java.util.function.Supplier<T> body) {
        String previousMlp16 = System.getProperty(CudaBackend.TOWER_MLP16_PROPERTY);
        String previousLean = System.getProperty(CudaBackend.TOWER_LEAN_PROPERTY);
        System.setProperty(CudaBackend.TOWER_MLP16_PROPERTY, mlp16);
        System.setProperty(CudaBackend.TOWER_LEAN_PROPERTY, lean);
        try {
            return body.get();
        } finally {
            restore(CudaBackend.TOWER_MLP16_PROPERTY, previousMlp16);
            restore(CudaBackend.TOWER_LEAN_PROPERTY, previousLean);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    private static float[] downloaded(Tensor t) {
        try (Tensor h = cuda().download(t)) {
            return h.toFloatArray();
        }
    }

    private static double meanAbsDiff(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "sizes differ");
        double sum = 0;
        for (int i = 0; i < expected.length; i++) {
            sum += Math.abs((double) expected[i] - actual[i]);
        }
        return sum / Math.max(1, expected.length);
    }

    /** Max |expected - actual| over max(1, max |expected|) at most {@value #GPU_VS_CPU}; prints a PARITY line. */
    private static void assertNear(String label, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, label + ": sizes differ");
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : Math.abs(expected[i] - actual[i]));
        }
        double normalized = maxErr / Math.max(1.0, maxRef);
        System.out.println(String.format(Locale.ROOT, "PARITY %-48s maxAbsErr=%.3e normErr=%.3e tol=%.1e", label, maxErr,
                normalized, GPU_VS_CPU));
        assertTrue(normalized <= GPU_VS_CPU, label + ": normalised error " + normalized + " > " + GPU_VS_CPU);
    }
}
