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

    /** A host cache [Hkv, capacity, D] of dtype holding rows [S, Hkv, D] (rounded) as entries 0..S-1, NaN after. */
    private static Tensor cache(Tensor rows, int capacity, DType dtype) {
        Tensor f32 = headMajorCache(rows, capacity);
        if (dtype == DType.F32) {
            return f32;
        }
        try (f32) {
            Tensor c = Tensor.allocate(dtype, f32.shape());
            c.copyFrom(f32.toFloatArray());
            return c;
        }
    }

    /** The first keys entries of a host cache [Hkv, capacity, D] as the [keys, Hkv, D] view attention reads. */
    private static Tensor entries(Tensor cache, int keys) {
        return cache.slice(1, 0, keys).transpose(0, 1);
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
        try (Tensor q = random(91, 1, hq, d); Tensor k = random(92, keys, hkv, d); Tensor v = random(93, keys, hkv, d);
             Tensor cacheK = cache(k, capacity, dtype); Tensor cacheV = cache(v, capacity, dtype);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, entries(cacheK, keys), entries(cacheV, keys), AttentionMask.BIDIRECTIONAL, scale, expected,
                    null);
            String label = "decode wide " + dtype + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + " capacity=" + capacity
                    + " keys=" + keys;
            float[] online = with("online", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, scale, out);
                return host(out);
            });
            assertClose(label + " (online kernel)", expected, out, TOL);
            float[] first = null;
            try (Tensor onlineOut = Tensor.of(online, 1, hq, d)) {
                for (String pdl : new String[] {"true", "false", "true"}) {
                    float[] got = with("wide", pdl, () -> {
                        gpu.decodeAttention(gq, gk, gv, count, scale, out);
                        return host(out);
                    });
                    assertClose(label + " pdl=" + pdl, expected, out, TOL);
                    assertClose(label + " pdl=" + pdl + " vs online", onlineOut, out, 2 * TOL);
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
        try (Tensor q = random(94, 1, hq, d); Tensor k = random(95, keys, hkv, d); Tensor v = random(96, keys, hkv, d);
             Tensor cacheK = cache(k, capacity, dtype); Tensor cacheV = cache(v, capacity, dtype);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, entries(cacheK, keys), entries(cacheV, keys), AttentionMask.BIDIRECTIONAL, scale, expected,
                    null);
            withProperties(Map.of(WideDecodePlan.GRID_PROPERTY, grid), () -> with("wide", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, scale, out);
                return null;
            }));
            assertClose("decode wide grid=" + grid + " " + dtype + " Hq=" + hq + " D=" + d + " keys=" + keys, expected,
                    out, TOL);
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
        try (Tensor q1 = random(100, 1, 14, 64); Tensor k1 = random(101, capacity, 2, 64);
             Tensor v1 = random(102, capacity, 2, 64); Tensor q2 = random(103, 1, 32, 128);
             Tensor k2 = random(104, capacity, 32, 128); Tensor v2 = random(105, capacity, 32, 128);
             Tensor cacheK1 = cache(k1, capacity, dtype); Tensor cacheV1 = cache(v1, capacity, dtype);
             Tensor cacheK2 = cache(k2, capacity, dtype); Tensor cacheV2 = cache(v2, capacity, dtype);
             Tensor gq1 = gpu.upload(q1); Tensor gk1 = gpu.upload(cacheK1); Tensor gv1 = gpu.upload(cacheV1);
             Tensor gq2 = gpu.upload(q2); Tensor gk2 = gpu.upload(cacheK2); Tensor gv2 = gpu.upload(cacheV2);
             Tensor out1 = gpu.allocate(DType.F32, 1, 14, 64); Tensor out2 = gpu.allocate(DType.F32, 1, 32, 128);
             StepInputs inputs = gpu.stepInputs(1)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                System.setProperty(KERNEL, "wide");
                gpu.decodeAttention(gq1, gk1, gv1, inputs.cell(0), 0.125f, out1);
                if (mixed) {
                    System.setProperty(KERNEL, "online");
                }
                gpu.decodeAttention(gq2, gk2, gv2, inputs.cell(0), 0.0884f, out2);
            };
            inputs.set(0, 1);
            with("wide", pdl, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with("wide", pdl, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 1000, 63, 600, 600, 7, 4097, 129, 8192, 6301}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor e1 = Tensor.allocate(DType.F32, 1, 14, 64); Tensor e2 = Tensor.allocate(DType.F32, 1, 32, 128)) {
                        CPU.attention(q1, entries(cacheK1, keys), entries(cacheV1, keys), AttentionMask.BIDIRECTIONAL,
                                0.125f, e1, null);
                        CPU.attention(q2, entries(cacheK2, keys), entries(cacheV2, keys), AttentionMask.BIDIRECTIONAL,
                                0.0884f, e2, null);
                        String label = "decode wide replay " + dtype + " mixed=" + mixed + " pdl=" + pdl;
                        assertClose(label + " qwen keys=" + keys, e1, out1, TOL);
                        assertClose(label + " llama keys=" + keys, e2, out2, TOL);
                    }
                }
            }
        }
    }
}
