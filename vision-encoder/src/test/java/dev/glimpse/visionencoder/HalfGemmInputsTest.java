package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tower with 16-bit weights on a backend that asks for 16-bit GEMM inputs computes exactly what
 * it computes with F32 inputs that the GEMM rounds itself: the claim behind
 * {@link dev.glimpse.kernels.GemmInputs}, checked on the CPU with a backend that behaves like the
 * CUDA one (x of more than 8 rows rounded to the weights' dtype inside linear, and
 * {@code halfActivationsForGemm} answering true there or not at all).
 */
class HalfGemmInputsTest {

    @ParameterizedTest(name = "{0} {1}, batch {2}")
    @CsvSource({"clip, BF16, 1", "clip, BF16, 3", "siglip, BF16, 1", "siglip, F16, 3"})
    void halfInputsGiveTheBitsOfF32InputsRoundedByTheGemm(String family, DType dtype, int batch) {
        VisionConfig config = family.equals("clip") ? TinyTower.CLIP : TinyTower.SIGLIP;
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 42);
        VisionWeights weights = VisionWeights.of(tensors, config);
        VisionRequest request = VisionRequest.features(FeatureSelection.llava15()).withLastHiddenState();
        AtomicInteger halfX = new AtomicInteger();
        try (CpuBackend cpu = new CpuBackend(); TinyTower pixelSource = new TinyTower(config);
             Tensor pixels = pixelSource.pixels(batch, 5);
             VisionOutput rounding = new VisionTransformer(gemmRounding(cpu, false, halfX), weights).encode(pixels, request)) {
            assertEquals(0, halfX.get(), "the reference run gave linear 16-bit x");
            try (VisionOutput half = new VisionTransformer(gemmRounding(cpu, true, halfX), weights).encode(pixels, request)) {
                assertTrue(halfX.get() >= 5 * config.numHiddenLayers() - 1,
                        "16-bit x reached linear " + halfX.get() + " times over " + config.numHiddenLayers() + " layers");
                for (int b = 0; b < batch; b++) {
                    assertArrayEquals(rounding.image(b).features().toFloatArray(), half.image(b).features().toFloatArray());
                    assertArrayEquals(rounding.image(b).lastHiddenState().toFloatArray(),
                            half.image(b).lastHiddenState().toFloatArray());
                }
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    /**
     * The CPU backend with CUDA's GEMM rounding: linear with F16/BF16 weights rounds F32 x of more
     * than 8 rows to the weights' dtype; {@code halfActivationsForGemm} answers {@code asks} for those
     * rows. Counts linear calls whose x arrives 16-bit. Default methods (the fused linears' reference
     * compositions) run on the proxy, so their products take this linear too.
     */
    private static Backend gemmRounding(CpuBackend cpu, boolean asks, AtomicInteger halfX) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("halfActivationsForGemm")) {
                        return asks && (int) args[0] > 8;
                    }
                    if (method.isDefault()) {
                        return InvocationHandler.invokeDefault(proxy, method, args);
                    }
                    if (method.getName().equals("linear")) {
                        Tensor x = (Tensor) args[0];
                        Tensor w = (Tensor) args[1];
                        int rows = (int) (x.numel() / Math.max(1, x.dim(-1)));
                        if (x.dtype() != DType.F32) {
                            halfX.incrementAndGet();
                        } else if (w.dtype() != DType.F32 && rows > 8) {
                            try (Tensor narrow = Tensor.allocate(w.dtype(), x.shape())) {
                                x.copyElementsTo(narrow);
                                cpu.linear(narrow, w, (Tensor) args[2], (Tensor) args[3]);
                            }
                            return null;
                        }
                    }
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
