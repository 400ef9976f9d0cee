package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.function.Supplier;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Wide flash-decoding ({@code -Dglimpse.cuda.decodeAttention=wide}, {@link WideDecodePlan},
 * decode_wide.cu), forced by each test: against the CPU backend over the same (rounded) cache
 * entries and against the online kernel (within twice the CPU tolerance: each is within it of the
 * CPU), over F32, BF16 and F16 caches, Qwen2-0.5B's 14 query heads over 2 kv heads of dim 64 and Llama-7B's 32 over 32 of dim 128 (and other groups: every padded head
 * count, a group over two blocks), at 600, 6,300 and 16,000 keys of larger caches, key counts that are
 * not multiples of a split's chunk or tile, a full cache, PDL on and off, at other grid targets, in
 * graph replays at changing key counts (the arrival counters back at zero after every launch, shared
 * with the online kernel in the same graph), and for a head dim the kernels do not take (the online
 * kernel runs instead). Each launch shape's repeat gives the same bits (the merge order does not
 * depend on which block arrives last).
 */
class CudaWideDecodeAttentionTest {

    private static final double TOL = 2e-5;
    private static final String KERNEL = CudaDecodeAttention.KERNEL_PROPERTY;

    private static <T> T with(String kernel, String pdl, Supplier<T> body) {
        return withProperties(Map.of(KERNEL, kernel, CudaBackend.PDL_PROPERTY, pdl), body);
    }

    @ParameterizedTest(name = "{0} Hq={1} Hkv={2} D={3} capacity={4} keys={5}")
    @CsvSource({
            "F32, 14, 2, 64, 8192, 600", "F32, 14, 2, 64, 8192, 6300", "F32, 14, 2, 64, 16384, 16000",
            "BF16, 14, 2, 64, 8192, 600", "BF16, 14, 2, 64, 8192, 6300", "BF16, 14, 2, 64, 16384, 16000",
            "F16, 14, 2, 64, 8192, 6300",
            "F32, 32, 32, 128, 8192, 600", "F32, 32, 32, 128, 8192, 6300", "F32, 32, 32, 128, 16384, 16000",
            "BF16, 32, 32, 128, 8192, 600", "BF16, 32, 32, 128, 8192, 6300", "F16, 32, 32, 128, 8192, 600",
            "F32, 14, 2, 64, 8192, 1", "F32, 14, 2, 64, 8192, 63", "F32, 14, 2, 64, 8192, 65",
            "F32, 14, 2, 64, 8192, 6301", "F32, 14, 2, 64, 8192, 8192", "BF16, 14, 2, 64, 8192, 8191",
            "BF16, 14, 2, 64, 8192, 129", "F32, 32, 32, 128, 8192, 33", "BF16, 32, 32, 128, 8192, 8192",
            "F32, 12, 4, 64, 1024, 513", "F32, 8, 4, 64, 1024, 777", "BF16, 16, 2, 64, 2048, 1999",
            "F32, 28, 4, 128, 4096, 3001", "F32, 12, 1, 128, 2048, 777", "BF16, 8, 8, 128, 512, 300"})
    void matchesCpuAndTheOnlineKernel(DType dtype, int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (DecodeCase c = DecodeCase.of(91, dtype, hq, hkv, d, capacity, keys, scale)) {
            String label = "decode wide " + dtype + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + " capacity=" + capacity
                    + " keys=" + keys;
            float[] online = with("online", "true", () -> {
                gpu.decodeAttention(c.gq(), c.gk(), c.gv(), c.count(), scale, c.out());
                return host(c.out());
            });
            assertClose(label + " (online kernel)", c.expected(), c.out(), TOL);
            float[] first = null;
            try (Tensor onlineOut = Tensor.of(online, 1, hq, d)) {
                for (String pdl : new String[] {"true", "false", "true"}) {
                    float[] got = with("wide", pdl, () -> {
                        gpu.decodeAttention(c.gq(), c.gk(), c.gv(), c.count(), scale, c.out());
                        return host(c.out());
                    });
                    assertClose(label + " pdl=" + pdl, c.expected(), c.out(), TOL);
                    assertClose(label + " pdl=" + pdl + " vs online", onlineOut, c.out(), 2 * TOL);
                    if (first == null) {
                        first = got;
                    } else {
                        assertArrayEquals(first, got, label + ": a repeat gave other bits");
                    }
                }
            }
        }
    }

    /** Other grid targets ({@link WideDecodePlan#GRID_PROPERTY}): fewer, longer splits and more, shorter ones. */
    @ParameterizedTest(name = "grid={0} {1} Hq={2} Hkv={3} D={4} keys={5}")
    @CsvSource({
            "1x512, F32, 14, 2, 64, 6300", "1x256, BF16, 14, 2, 64, 6300", "2x64, F32, 14, 2, 64, 6300",
            "4x32, BF16, 14, 2, 64, 8192", "1x128, F32, 14, 2, 64, 16000", "2x32, F32, 32, 32, 128, 600",
            "4x32, BF16, 32, 32, 128, 6300", "64x32, F32, 14, 2, 64, 16000"})
    void matchesCpuAtEveryGridTarget(String grid, DType dtype, int hq, int hkv, int d, int keys) {
        CudaBackend gpu = cuda();
        int capacity = keys <= 8192 ? 8192 : 16384;
        float scale = (float) (1 / Math.sqrt(d));
        try (DecodeCase c = DecodeCase.of(94, dtype, hq, hkv, d, capacity, keys, scale)) {
            withProperties(Map.of(WideDecodePlan.GRID_PROPERTY, grid), () -> with("wide", "true", () -> {
                gpu.decodeAttention(c.gq(), c.gk(), c.gv(), c.count(), scale, c.out());
                return null;
            }));
            assertClose("decode wide grid=" + grid + " " + dtype + " Hq=" + hq + " D=" + d + " keys=" + keys,
                    c.expected(), c.out(), TOL);
        }
    }

    /** Head dims the wide kernels do not take run the online or split kernel. */
    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} keys={3}")
    @CsvSource({"4, 2, 38, 299", "14, 2, 32, 600", "12, 1, 256, 777"})
    void otherHeadDimsFallBack(int hq, int hkv, int d, int keys) {
        CudaBackend gpu = cuda();
        int capacity = 1024;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(97, 1, hq, d); Tensor k = random(98, keys, hkv, d); Tensor v = random(99, keys, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            with("wide", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, scale, out);
                return null;
            });
            assertClose("decode wide fallback Hq=" + hq + " D=" + d + " keys=" + keys, expected, out, TOL);
        }
    }

    /**
     * Two layers per replay (Qwen2's shape on the wide kernel, Llama's on the online kernel when
     * {@code mixed}, else both wide; one workspace and one set of counters) replayed at key counts that
     * cross chunk boundaries, drop to zero and grow again: every replay matches the CPU.
     */
    @ParameterizedTest(name = "{0} mixed={1} pdl={2}")
    @CsvSource({"F32, false, true", "F32, true, true", "BF16, false, true", "BF16, true, false", "F16, false, false"})
    void graphReplaysFollowTheKeyCount(DType dtype, boolean mixed, String pdl) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        try (TwoLayerDecode layers = new TwoLayerDecode(100, dtype, capacity)) {
            Runnable step = () -> {
                gpu.upload(layers.inputs);
                System.setProperty(KERNEL, "wide");
                layers.qwen();
                if (mixed) {
                    System.setProperty(KERNEL, "online");
                }
                layers.llama();
            };
            layers.inputs.set(0, 1);
            with("wide", pdl, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with("wide", pdl, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 1000, 63, 600, 600, 7, 4097, 129, 8192, 6301}) {
                    layers.replay(graph, keys);
                    String label = "decode wide replay " + dtype + " mixed=" + mixed + " pdl=" + pdl;
                    layers.assertMatchesCpu(keys, label + " qwen keys=" + keys, label + " llama keys=" + keys, TOL);
                }
            }
        }
    }
}
