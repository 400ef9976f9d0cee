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
import static dev.glimpse.kernels.cuda.CudaTestSupport.cacheEntries;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
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
        return withProperties(Map.of(CudaDecodeAttention.KERNEL_PROPERTY, kernel,
                CudaBackend.DECODE_COMBINE_PROPERTY, combine, OnlineDecode16.PROPERTY, online16), body);
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
        try (DecodeCase c = DecodeCase.of(71, dtype, hq, hkv, d, capacity, keys, scale)) {
            float[] fused = null;
            for (String[] mode : MODES) {
                float[] got = with(mode[0], mode[1], mode[2], () -> {
                    gpu.decodeAttention(c.gq(), c.gk(), c.gv(), c.count(), scale, c.out());
                    return host(c.out());
                });
                assertClose("decode " + dtype + " cache " + String.join("/", mode) + " Hq=" + hq + " Hkv=" + hkv
                        + " D=" + d + " keys=" + keys, c.expected(), c.out(), TOL);
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
        try (TwoLayerDecode layers = new TwoLayerDecode(80, dtype, capacity)) {
            Runnable step = () -> {
                gpu.upload(layers.inputs);
                System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, "online");
                layers.qwen();
                System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, "split");
                layers.llama();
            };
            layers.inputs.set(0, 1);
            with("online", "fused", online16, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with("online", "fused", online16, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 600, 4097, 129, 8192}) {
                    layers.replay(graph, keys);
                    layers.assertMatchesCpu(keys, "replay " + dtype + " " + online16 + " qwen keys=" + keys,
                            "replay " + dtype + " llama keys=" + keys, TOL);
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
             Tensor cacheK = headMajorCache(k, capacity, dtype); Tensor cacheV = headMajorCache(v, capacity, dtype);
             Tensor k32 = Tensor.of(cacheEntries(cacheK, keys).toFloatArray(), keys, hkv, d);
             Tensor v32 = Tensor.of(cacheEntries(cacheV, keys).toFloatArray(), keys, hkv, d);
             Tensor gq = gpu.upload(q); Tensor gkc = gpu.upload(cacheK); Tensor gvc = gpu.upload(cacheV);
             Tensor gk32 = gpu.upload(k32); Tensor gv32 = gpu.upload(v32);
             Tensor out16 = gpu.allocate(DType.F32, t, hq, d); Tensor out32 = gpu.allocate(DType.F32, t, hq, d);
             Tensor rows16 = gpu.allocate(DType.F32, hq, rows.length, keys);
             Tensor rows32 = gpu.allocate(DType.F32, hq, rows.length, keys);
             Tensor cols16 = gpu.allocate(DType.F32, hq, keys); Tensor cols32 = gpu.allocate(DType.F32, hq, keys)) {
            AttentionMask mask = AttentionMask.causal(keys - t);
            float scale = (float) (1 / Math.sqrt(d));
            gpu.attention(gq, cacheEntries(gkc, keys), cacheEntries(gvc, keys), mask, scale, out16,
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
