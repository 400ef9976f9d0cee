package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.function.Supplier;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * BF16 and F16 KV caches on the GPU: the decode-step appends ({@code kv_append_step_<t>},
 * {@code rope_append_kv_<t>}) store exactly the F32 kernels' values rounded to nearest even; decode
 * attention over a 16-bit cache (split kernel with either merge, online kernel with each
 * {@link OnlineDecode16} kernel for 8-head groups; 16-byte {@code _vec8} and scalar loads) matches the
 * CPU backend over the same 16-bit cache (which widens exactly) at key counts on both sides of the split boundaries, in graph replays too; prefill attention over a
 * 16-bit cache view gives the bits it gives over F32 K/V holding the same values, at the model's
 * precision and at F32 with captured column sums.
 */
class CudaHalfKvCacheTest {

    private static final double TOL = 2e-5;
    /** (kernel, combine, online 16-bit kernel for 8-head groups) of each decode attention run. */
    private static final String[][] MODES = {{"split", "fused", "current"}, {"split", "separate", "current"},
            {"online", "fused", "current"}, {"online", "fused", "passes"}, {"online", "fused", "passes_early"}};

    private static <T> T with(String kernel, String combine, String online16, Supplier<T> body) {
        String oldKernel = System.getProperty(CudaDecodeAttention.KERNEL_PROPERTY);
        String oldCombine = System.getProperty(CudaBackend.DECODE_COMBINE_PROPERTY);
        String oldOnline16 = System.getProperty(OnlineDecode16.PROPERTY);
        System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, kernel);
        System.setProperty(CudaBackend.DECODE_COMBINE_PROPERTY, combine);
        System.setProperty(OnlineDecode16.PROPERTY, online16);
        try {
            return body.get();
        } finally {
            restore(CudaDecodeAttention.KERNEL_PROPERTY, oldKernel);
            restore(CudaBackend.DECODE_COMBINE_PROPERTY, oldCombine);
            restore(OnlineDecode16.PROPERTY, oldOnline16);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    private static float[] host(Tensor device) {
        try (Tensor h = cuda().download(device)) {
            return h.toFloatArray();
        }
    }

    /** A host cache [Hkv, capacity, D] of dtype holding rows [S, Hkv, D] (rounded) as entries 0..S-1, NaN after. */
    private static Tensor cache(Tensor rows, int capacity, DType dtype) {
        try (Tensor f32 = CudaTestSupport.headMajorCache(rows, capacity)) {
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
            "BF16, 14, 2, 64, 8192, 1", "BF16, 14, 2, 64, 8192, 64", "BF16, 14, 2, 64, 8192, 65",
            "BF16, 14, 2, 64, 8192, 600", "BF16, 14, 2, 64, 8192, 6300", "BF16, 14, 2, 64, 8192, 8192",
            "BF16, 14, 2, 64, 8192, 4097", "BF16, 32, 32, 128, 8192, 1", "BF16, 32, 32, 128, 8192, 600",
            "BF16, 32, 32, 128, 8192, 6300", "BF16, 12, 4, 64, 1024, 513", "BF16, 4, 2, 38, 300, 299",
            "BF16, 16, 2, 36, 512, 300", "BF16, 12, 1, 256, 2048, 777", "BF16, 6, 6, 33, 700, 257",
            "F16, 14, 2, 64, 8192, 1", "F16, 14, 2, 64, 8192, 600", "F16, 14, 2, 64, 8192, 6300",
            "F16, 32, 32, 128, 8192, 600", "F16, 28, 4, 128, 100, 100", "F16, 8, 8, 20, 512, 300",
            "BF16, 28, 4, 128, 8192, 4097", "BF16, 16, 2, 64, 1024, 1000", "F16, 16, 2, 64, 8192, 8192"})
    void decodeAttentionOverA16BitCacheMatchesCpu(DType dtype, int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(71, 1, hq, d); Tensor k = random(72, keys, hkv, d); Tensor v = random(73, keys, hkv, d);
             Tensor cacheK = cache(k, capacity, dtype); Tensor cacheV = cache(v, capacity, dtype);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, entries(cacheK, keys), entries(cacheV, keys), AttentionMask.BIDIRECTIONAL, scale, expected,
                    null);
            float[] fused = null;
            for (String[] mode : MODES) {
                float[] got = with(mode[0], mode[1], mode[2], () -> {
                    gpu.decodeAttention(gq, gk, gv, count, scale, out);
                    return host(out);
                });
                assertClose("decode " + dtype + " cache " + String.join("/", mode) + " Hq=" + hq + " Hkv=" + hkv
                        + " D=" + d + " keys=" + keys, expected, out, TOL);
                if (mode[0].equals("split")) {
                    if (fused == null) {
                        fused = got;
                    } else {
                        assertArrayEquals(fused, got, "split kernel's two merges differ over a " + dtype + " cache");
                    }
                }
            }
        }
    }

    /**
     * Graph replays over 16-bit caches (online and split in one graph) follow the key count, with
     * each {@link OnlineDecode16} kernel for Qwen2's 8-head groups.
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"BF16, current", "F16, current", "BF16, passes", "F16, passes", "BF16, passes_early",
            "F16, passes_early"})
    void graphReplaysOverA16BitCacheFollowTheKeyCount(DType dtype, String online16) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        try (Tensor q1 = random(80, 1, 14, 64); Tensor k1 = random(81, capacity, 2, 64);
             Tensor v1 = random(82, capacity, 2, 64); Tensor q2 = random(83, 1, 32, 128);
             Tensor k2 = random(84, capacity, 32, 128); Tensor v2 = random(85, capacity, 32, 128);
             Tensor cacheK1 = cache(k1, capacity, dtype); Tensor cacheV1 = cache(v1, capacity, dtype);
             Tensor cacheK2 = cache(k2, capacity, dtype); Tensor cacheV2 = cache(v2, capacity, dtype);
             Tensor gq1 = gpu.upload(q1); Tensor gk1 = gpu.upload(cacheK1); Tensor gv1 = gpu.upload(cacheV1);
             Tensor gq2 = gpu.upload(q2); Tensor gk2 = gpu.upload(cacheK2); Tensor gv2 = gpu.upload(cacheV2);
             Tensor out1 = gpu.allocate(DType.F32, 1, 14, 64); Tensor out2 = gpu.allocate(DType.F32, 1, 32, 128);
             StepInputs inputs = gpu.stepInputs(1)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, "online");
                gpu.decodeAttention(gq1, gk1, gv1, inputs.cell(0), 0.125f, out1);
                System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, "split");
                gpu.decodeAttention(gq2, gk2, gv2, inputs.cell(0), 0.0884f, out2);
            };
            inputs.set(0, 1);
            with("online", "fused", online16, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with("online", "fused", online16, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 600, 4097, 129, 8192}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor e1 = Tensor.allocate(DType.F32, 1, 14, 64); Tensor e2 = Tensor.allocate(DType.F32, 1, 32, 128)) {
                        CPU.attention(q1, entries(cacheK1, keys), entries(cacheV1, keys), AttentionMask.BIDIRECTIONAL,
                                0.125f, e1, null);
                        CPU.attention(q2, entries(cacheK2, keys), entries(cacheV2, keys), AttentionMask.BIDIRECTIONAL,
                                0.0884f, e2, null);
                        assertClose("replay " + dtype + " " + online16 + " qwen keys=" + keys, e1, out1, TOL);
                        assertClose("replay " + dtype + " llama keys=" + keys, e2, out2, TOL);
                    }
                }
            }
        }
    }

    /** kv_append_step_<t>: the 16-bit cache entry is the F32 kernel's entry rounded to nearest even; others untouched. */
    @ParameterizedTest(name = "{0} Hkv={1} D={2} at={3}")
    @CsvSource({"BF16, 2, 64, 0", "BF16, 32, 128, 9", "F16, 2, 64, 15", "F16, 4, 38, 3"})
    void appendKvRoundsTheF32EntryIntoA16BitCache(DType dtype, int hkv, int d, int at) {
        CudaBackend gpu = cuda();
        int capacity = 16;
        try (Tensor k = random(86, 1, hkv, d); Tensor v = random(87, 1, hkv, d);
             Tensor base = random(88, 1f, DType.F32, hkv, capacity, d); Tensor base16 = Tensor.allocate(dtype, hkv, capacity, d);
             Tensor len = gpu.upload(Tensor.ofInts(new int[] {at}, 1));
             Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v)) {
            base16.copyFrom(base.toFloatArray());
            try (Tensor kc32 = gpu.upload(base); Tensor vc32 = gpu.upload(base);
                 Tensor kc16 = gpu.upload(base16); Tensor vc16 = gpu.upload(base16)) {
                gpu.appendKv(gk, gv, kc32, vc32, len);
                gpu.appendKv(gk, gv, kc16, vc16, len);
                assertArrayEquals(rounded(host(kc32), dtype), host(kc16), "key cache");
                assertArrayEquals(rounded(host(vc32), dtype), host(vc16), "value cache");
            }
        }
    }

    /** rope_append_kv_<t>: q as the F32 kernel rotates it; cache entries the F32 kernel's rounded to nearest even. */
    @ParameterizedTest(name = "{0} heads={1}/{2} D={3} half={4} at={5}")
    @CsvSource({"BF16, 14, 2, 64, 32, 17", "BF16, 32, 32, 128, 64, 0", "F16, 8, 4, 64, 16, 5", "F16, 6, 2, 6, 3, 2"})
    void ropeAppendKvRoundsTheF32EntryIntoA16BitCache(DType dtype, int heads, int kvHeads, int d, int half, int at) {
        CudaBackend gpu = cuda();
        int capacity = 24;
        try (Tensor q = random(91, 1, heads, d); Tensor k = random(92, 1, kvHeads, d); Tensor v = random(93, 1, kvHeads, d);
             Tensor cos = random(94, 1, half); Tensor sin = random(95, 1, half);
             Tensor base = random(96, 1f, DType.F32, kvHeads, capacity, d);
             Tensor base16 = Tensor.allocate(dtype, kvHeads, capacity, d);
             Tensor len = gpu.upload(Tensor.ofInts(new int[] {at}, 1)); Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Tensor q32 = gpu.upload(q); Tensor q16 = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v)) {
            base16.copyFrom(base.toFloatArray());
            try (Tensor kc32 = gpu.upload(base); Tensor vc32 = gpu.upload(base);
                 Tensor kc16 = gpu.upload(base16); Tensor vc16 = gpu.upload(base16)) {
                gpu.ropeAppendKv(q32, gk, gv, gc, gs, kc32, vc32, len);
                gpu.ropeAppendKv(q16, gk, gv, gc, gs, kc16, vc16, len);
                assertArrayEquals(host(q32), host(q16), "rotated q");
                assertArrayEquals(rounded(host(kc32), dtype), host(kc16), "key cache");
                assertArrayEquals(rounded(host(vc32), dtype), host(vc16), "value cache");
                assertArrayEquals(k.toFloatArray(), host(gk), "k itself is left unrotated");
            }
        }
    }

    @Test
    void cachesOfTwoTypesAreRejected() {
        CudaBackend gpu = cuda();
        try (Tensor gq = gpu.allocate(DType.F32, 1, 2, 8); Tensor gk = gpu.allocate(DType.BF16, 1, 4, 8);
             Tensor gv = gpu.allocate(DType.F16, 1, 4, 8); Tensor count = gpu.upload(Tensor.ofInts(new int[] {1}, 1));
             Tensor out = gpu.allocate(DType.F32, 1, 2, 8)) {
            assertThrows(TensorException.class, () -> gpu.decodeAttention(gq, gk, gv, count, 0.5f, out));
        }
    }

    /**
     * Prefill attention (a chunk of new queries over every cached key) reading a 16-bit cache view
     * in place gives the bits it gives over F32 K/V holding the same values: at the cache's precision
     * (the 16-bit mma kernel rounds K/V to that type anyway) and at F32 with captured rows and column
     * sums (the 3xTF32 kernel on the widened values).
     */
    @ParameterizedTest(name = "{0} {1} Hq={2} Hkv={3} D={4} t={5} keys={6}")
    @CsvSource({"BF16, BF16, 14, 2, 64, 600, 1200", "BF16, BF16, 32, 32, 128, 77, 700", "F16, F16, 14, 2, 64, 300, 300",
            "BF16, F32, 14, 2, 64, 200, 900", "F16, F32, 8, 8, 128, 64, 64", "BF16, BF16, 4, 2, 38, 40, 90"})
    void prefillOverA16BitCacheViewEqualsF32KeysOfTheSameValues(DType dtype, AttentionPrecision precision, int hq,
                                                                int hkv, int d, int t, int keys) {
        CudaBackend gpu = cuda();
        int capacity = keys + 40;
        boolean capture = precision == AttentionPrecision.F32;
        int[] rows = {0, t - 1};
        try (Tensor q = random(101, t, hq, d); Tensor k = random(102, keys, hkv, d); Tensor v = random(103, keys, hkv, d);
             Tensor cacheK = cache(k, capacity, dtype); Tensor cacheV = cache(v, capacity, dtype);
             Tensor k32 = Tensor.of(entries(cacheK, keys).toFloatArray(), keys, hkv, d);
             Tensor v32 = Tensor.of(entries(cacheV, keys).toFloatArray(), keys, hkv, d);
             Tensor gq = gpu.upload(q); Tensor gkc = gpu.upload(cacheK); Tensor gvc = gpu.upload(cacheV);
             Tensor gk32 = gpu.upload(k32); Tensor gv32 = gpu.upload(v32);
             Tensor out16 = gpu.allocate(DType.F32, t, hq, d); Tensor out32 = gpu.allocate(DType.F32, t, hq, d);
             Tensor rows16 = gpu.allocate(DType.F32, hq, rows.length, keys);
             Tensor rows32 = gpu.allocate(DType.F32, hq, rows.length, keys);
             Tensor cols16 = gpu.allocate(DType.F32, hq, keys); Tensor cols32 = gpu.allocate(DType.F32, hq, keys)) {
            AttentionMask mask = AttentionMask.causal(keys - t);
            float scale = (float) (1 / Math.sqrt(d));
            gpu.attention(gq, entries(gkc, keys), entries(gvc, keys), mask, scale, out16,
                    capture ? new AttentionCapture(rows, rows16, cols16) : null, null, precision);
            gpu.attention(gq, gk32, gv32, mask, scale, out32,
                    capture ? new AttentionCapture(rows, rows32, cols32) : null, null, precision);
            String label = dtype + " cache at " + precision + " Hq=" + hq + " D=" + d;
            assertArrayEquals(host(out32), host(out16), label);
            if (capture) {
                assertArrayEquals(host(rows32), host(rows16), label + " captured rows");
                assertArrayEquals(host(cols32), host(cols16), label + " column sums");
            }
            try (Tensor expected = Tensor.allocate(DType.F32, t, hq, d)) {
                CPU.attention(q, k32, v32, mask, scale, expected, null);
                assertClose(label + " vs CPU", expected, out16, precision == AttentionPrecision.F32 ? TOL : 3e-2);
            }
        }
    }

    /**
     * The small-grid shapes ({@link AttentionSmallGrid}, in place of {@code w4}) read a 16-bit cache
     * view in place ({@code attention_mma_cache_*_w2}, {@code _w2s2}) with the bits they give over
     * packed F32 K/V of the same values, as {@link #prefillOverA16BitCacheViewEqualsF32KeysOfTheSameValues}.
     */
    @ParameterizedTest(name = "{0} {1} Hq={3} Hkv={4} D={5} t={6} keys={7}")
    @CsvSource({"w2s2, BF16, BF16, 14, 2, 64, 600, 1200", "w2s2, F16, F16, 32, 32, 128, 77, 700",
            "w2s2, BF16, BF16, 14, 2, 64, 40, 65", "w2, BF16, BF16, 14, 2, 64, 300, 300",
            "w2, F16, F16, 32, 32, 128, 77, 700"})
    void smallGridPrefillOverA16BitCacheViewEqualsF32KeysOfTheSameValues(String shape, DType dtype,
                                                                          AttentionPrecision precision, int hq, int hkv,
                                                                          int d, int t, int keys) {
        CudaTestSupport.withProperties(Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, shape), () -> {
            prefillOverA16BitCacheViewEqualsF32KeysOfTheSameValues(dtype, precision, hq, hkv, d, t, keys);
            return null;
        });
    }

    private static float[] rounded(float[] x, DType dtype) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = dtype == DType.BF16 ? DType.bf16ToFloat(DType.floatToBf16(x[i]))
                    : Float.float16ToFloat(Float.floatToFloat16(x[i]));
        }
        return r;
    }
}
