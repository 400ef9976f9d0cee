package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.runFromGraph;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): {@link CudaBackend#ropeAppendAttention}
 * ({@code prefill_rope_attention_<t>_d<D>_<shape>}, one launch) against the pair it replaces,
 * {@link CudaBackend#ropeAppendKvRows} then {@link CudaBackend#attentionHalfOutput} over the caches' first
 * {@code start + T} entries: both caches and the 16-bit output bit for bit, q and k left as they were, for
 * Llama-7B's heads (32 over 32, D 128) and Qwen2-0.5B's (14 over 2, D 64), BF16 and F16, an empty prefix and a
 * cached one ({@code start > 0}, its entries random, every entry from {@code start} on NaN before the call, so a
 * block reading a new entry it has not stored would turn its rows NaN), 16 to 128 rows (the default limit),
 * every block shape the dispatch can pick for them (auto: w2s4b1 or w4 for both; each also forced, w2s2 whatever
 * the GPU's SM count), the
 * four-way single-round key-split shape ({@code w2s4b1}, forced; a 300- and a 200-entry prefix make several rounds
 * of key tiles), LLaVA-7B's 586 rows under a raised limit (what
 * PrefillSmallKernelsBench times), and a replay from a CUDA graph. Below 16 rows, past the limit and where the
 * pair would not run the vectorised append and the in-place 16-bit kernel, and for a forced {@code w2s2b1} (no
 * dispatch picks it at D 64 or 128, and the kernel went), it declines and stores nothing.
 */
class CudaPrefillRopeAttentionTest {

    @ParameterizedTest(name = "T={0} start={1} heads={2}/{3} D={4} {5} warps={6} smallGrid={7}")
    @CsvSource({
            "74, 0, 32, 32, 128, BF16, auto, auto", "74, 13, 32, 32, 128, F16, auto, auto",
            "128, 0, 32, 32, 128, BF16, auto, auto", "128, 70, 32, 32, 128, BF16, auto, auto",
            "16, 0, 32, 32, 128, F16, auto, auto", "17, 3, 32, 32, 128, BF16, auto, auto",
            "74, 0, 14, 2, 64, BF16, auto, auto", "74, 5, 14, 2, 64, F16, auto, auto",
            "128, 0, 14, 2, 64, F16, auto, auto", "128, 64, 14, 2, 64, BF16, auto, auto",
            "65, 1, 14, 2, 64, BF16, auto, auto",
            "74, 0, 32, 32, 128, BF16, w4, off", "74, 9, 32, 32, 128, F16, w8, off", "74, 0, 32, 32, 128, BF16, w4, w2",
            "74, 0, 14, 2, 64, BF16, w4, off", "74, 9, 14, 2, 64, F16, w8, off", "33, 0, 14, 2, 64, BF16, w4, w2",
            "74, 0, 32, 32, 128, BF16, w4, w2s2", "74, 5, 14, 2, 64, F16, w4, w2s2", "100, 30, 8, 2, 128, F16, w4, w2s2",
            "586, 0, 32, 32, 128, BF16, auto, auto", "586, 0, 14, 2, 64, BF16, auto, auto",
            "74, 0, 32, 32, 128, BF16, w4, w2s4b1",
            "74, 13, 32, 32, 128, F16, w4, w2s4b1", "74, 0, 14, 2, 64, BF16, w4, w2s4b1",
            "74, 5, 14, 2, 64, F16, w4, w2s4b1", "17, 3, 32, 32, 128, BF16, w4, w2s4b1",
            "100, 300, 8, 2, 128, F16, w4, w2s4b1", "65, 200, 14, 2, 64, BF16, w4, w2s4b1"})
    void oneLaunchStoresThePairsCacheAndOutputBits(int tokens, int start, int heads, int kvHeads, int d, DType type,
                                                   String warps, String smallGrid) {
        Map<String, String> properties = new HashMap<>(Map.of(AttentionMmaWarps.PROPERTY, warps,
                AttentionSmallGrid.PROPERTY, smallGrid));
        if (tokens > CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS) {
            properties.put(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, Integer.toString(tokens));
        }
        try (Case c = new Case(tokens, start, heads, kvHeads, d, type)) {
            boolean ran = withProperties(properties, () -> {
                c.runPair();
                return c.runFused();
            });
            assertTrue(ran, "the fused kernel runs");
            c.assertSameBits();
        }
    }

    /**
     * {@code -Dglimpse.cuda.ropeAttentionSmallGrid} gives the fused kernel its own shape: with it at {@code shape} and
     * the general property {@code off}, the fused kernel stores the bits of the pair run with the general property at
     * {@code shape} (the same arithmetic; the off shape, w4, sums the key tiles in another order).
     */
    @ParameterizedTest(name = "T={0} start={1} heads={2}/{3} D={4} {5} shape={6}")
    @CsvSource({"74, 0, 32, 32, 128, BF16, w2s4b1", "100, 300, 8, 2, 128, BF16, w2s2"})
    void ropeAttentionPropertyPicksTheFusedKernelsShapeAlone(int tokens, int start, int heads, int kvHeads, int d,
                                                            DType type, String shape) {
        try (Case c = new Case(tokens, start, heads, kvHeads, d, type)) {
            withProperties(Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, shape), () -> {
                c.runPair();
                return null;
            });
            boolean ran = withProperties(Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, "off",
                    AttentionSmallGrid.ROPE_ATTENTION_PROPERTY, shape), c::runFused);
            assertTrue(ran, "the fused kernel runs");
            c.assertSameBits();
        }
    }

    /** Captured after one eager call, the caches reset and the output zeroed, then replayed once. */
    @Test
    void aGraphReplayStoresTheSameBits() {
        CudaBackend gpu = cuda();
        try (Case c = new Case(74, 6, 14, 2, 64, DType.BF16)) {
            c.runPair();
            assertTrue(c.runFused(), "the fused kernel runs (and loads its module before the capture)");
            gpu.copy(c.initialKeys, c.fusedKeys);
            gpu.copy(c.initialValues, c.fusedValues);
            try (Tensor hostZeros = Tensor.allocate(c.fusedOut.dtype(), c.fusedOut.shape());
                 Tensor zeros = gpu.upload(hostZeros)) {
                gpu.copy(zeros, c.fusedOut);
            }
            runFromGraph(() -> assertTrue(c.runFused(), "captured"));
            c.assertSameBits();
        }
    }

    @ParameterizedTest(name = "T={0} D={1} {2} warps={3} maxRows={4}")
    @CsvSource({"1, 128, BF16, auto, ''", "9, 128, BF16, auto, ''", "15, 64, F16, auto, ''",
            "129, 128, BF16, auto, ''", "74, 64, BF16, auto, 64", "74, 80, BF16, auto, ''",
            "74, 64, F32, auto, ''", "256, 64, BF16, w4x2, 256", "74, 64, BF16, w2s2b1, ''",
            "100, 128, F16, w2s2b1, ''"})
    void declinesWhereThePairRunsOtherKernels(int tokens, int d, DType type, String warps, String maxRows) {
        Map<String, String> properties = new HashMap<>(warps.startsWith("w2s")
                ? Map.of(AttentionMmaWarps.PROPERTY, "w4", AttentionSmallGrid.PROPERTY, warps)
                : Map.of(AttentionMmaWarps.PROPERTY, warps));
        if (!maxRows.isEmpty()) {
            properties.put(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, maxRows);
        }
        try (Case c = new Case(tokens, 0, 4, 2, d, type)) {
            assertFalse(withProperties(properties, c::runFused), "declined");
            assertUnchanged(c);
        }
    }

    @Test
    void declinesWhenTheCacheIsNotReadInPlace() {
        try (Case c = new Case(74, 0, 4, 2, 64, DType.BF16)) {
            assertFalse(withProperties(Map.of(CudaAttention.IN_PLACE_PROPERTY, "false"), c::runFused),
                    "-Dglimpse.cuda.attentionCacheInPlace=false");
            assertUnchanged(c);
        }
    }

    /**
     * With the vectorised append off the pair runs rope_append_kv_rows, whose rotation ptxas contracts as it likes,
     * so the fused kernel, which reproduces rope_append_kv_rows_vec's, is not that pair's stand-in.
     */
    @Test
    void declinesWhenThePairAppendsWithTheScalarKernel() {
        try (Case c = new Case(74, 0, 4, 2, 64, DType.BF16)) {
            assertFalse(withProperties(Map.of(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "false"), c::runFused),
                    "-Dglimpse.cuda.ropeAppendVector=false");
            assertUnchanged(c);
        }
    }

    private static void assertUnchanged(Case c) {
        assertArrayEquals(host(c.initialKeys), host(c.fusedKeys), "key cache untouched");
        assertArrayEquals(host(c.initialValues), host(c.fusedValues), "value cache untouched");
    }

    /**
     * Random q, k, v [T, H, D], rotary tables [T, D / 2] and caches [Hkv, start + T + 5, D] of {@code type} (entries
     * before {@code start} random, the rest NaN), uploaded twice: once for the pair, once for the fused kernel.
     */
    private static final class Case implements AutoCloseable {
        final int tokens;
        final int start;
        final int heads;
        final int d;
        final DType type;
        final Tensor q;
        final Tensor k;
        final Tensor pairQ;
        final Tensor pairK;
        final Tensor pairV;
        final Tensor fusedQ;
        final Tensor fusedK;
        final Tensor fusedV;
        final Tensor cos;
        final Tensor sin;
        final Tensor initialKeys;
        final Tensor initialValues;
        final Tensor pairKeys;
        final Tensor pairValues;
        final Tensor fusedKeys;
        final Tensor fusedValues;
        final Tensor pairOut;
        final Tensor fusedOut;

        Case(int tokens, int start, int heads, int kvHeads, int d, DType type) {
            CudaBackend gpu = cuda();
            this.tokens = tokens;
            this.start = start;
            this.heads = heads;
            this.d = d;
            this.type = type;
            int capacity = start + tokens + 5;
            DType outType = type == DType.F32 ? DType.BF16 : type;
            q = random(401, 1f, DType.F32, tokens, heads, d);
            k = random(402, 1f, DType.F32, tokens, kvHeads, d);
            try (Tensor v = random(403, 1f, DType.F32, tokens, kvHeads, d);
                 Tensor c = random(404, 1f, DType.F32, tokens, d / 2); Tensor s = random(405, 1f, DType.F32, tokens, d / 2);
                 Tensor keys = cache(406, kvHeads, capacity, d, start, type);
                 Tensor values = cache(407, kvHeads, capacity, d, start, type)) {
                pairQ = gpu.upload(q);
                pairK = gpu.upload(k);
                pairV = gpu.upload(v);
                fusedQ = gpu.upload(q);
                fusedK = gpu.upload(k);
                fusedV = gpu.upload(v);
                cos = gpu.upload(c);
                sin = gpu.upload(s);
                initialKeys = gpu.upload(keys);
                initialValues = gpu.upload(values);
                pairKeys = gpu.upload(keys);
                pairValues = gpu.upload(values);
                fusedKeys = gpu.upload(keys);
                fusedValues = gpu.upload(values);
            }
            pairOut = gpu.allocate(outType, tokens, heads, d);
            fusedOut = gpu.allocate(outType, tokens, heads, d);
        }

        /** Host caches [hkv, capacity, d]: random entries before {@code start}, NaN from it on. */
        private static Tensor cache(long seed, int hkv, int capacity, int d, int start, DType type) {
            try (Tensor r = random(seed, 1f, DType.F32, hkv, capacity, d)) {
                float[] values = r.toFloatArray();
                for (int h = 0; h < hkv; h++) {
                    Arrays.fill(values, (h * capacity + start) * d, (h + 1) * capacity * d, Float.NaN);
                }
                try (Tensor f = Tensor.of(values, hkv, capacity, d)) {
                    Tensor c = Tensor.allocate(type, hkv, capacity, d);
                    f.copyElementsTo(c);
                    return c;
                }
            }
        }

        private float scale() {
            return (float) (1 / Math.sqrt(d));
        }

        private AttentionPrecision precision() {
            return switch (type) {
                case BF16 -> AttentionPrecision.BF16;
                case F16 -> AttentionPrecision.F16;
                default -> AttentionPrecision.F32;
            };
        }

        /** The unfused pair; fails when its attention does not run the in-place 16-bit output kernel. */
        void runPair() {
            CudaBackend gpu = cuda();
            gpu.ropeAppendKvRows(pairQ, pairK, pairV, cos, sin, pairKeys, pairValues, start);
            int keys = start + tokens;
            Tensor keyView = pairKeys.slice(1, 0, keys).transpose(0, 1);
            Tensor valueView = pairValues.slice(1, 0, keys).transpose(0, 1);
            assertTrue(gpu.attentionHalfOutput(pairQ, keyView, valueView, AttentionMask.causal(start), scale(), pairOut,
                    precision()), "the pair's _o16 kernel runs");
        }

        boolean runFused() {
            return cuda().ropeAppendAttention(fusedQ, fusedK, fusedV, cos, sin, fusedKeys, fusedValues, start, scale(),
                    fusedOut, precision());
        }

        void assertSameBits() {
            String label = " T=" + tokens + " start=" + start + " heads=" + heads + " D=" + d + " " + type;
            assertArrayEquals(host(pairKeys), host(fusedKeys), "key cache" + label);
            assertArrayEquals(host(pairValues), host(fusedValues), "value cache" + label);
            assertArrayEquals(host(pairOut), host(fusedOut), "16-bit attention output" + label);
            assertArrayEquals(q.toFloatArray(), host(fusedQ), "q left unrotated" + label);
            assertArrayEquals(k.toFloatArray(), host(fusedK), "k left unrotated" + label);
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {q, k, pairQ, pairK, pairV, fusedQ, fusedK, fusedV, cos, sin, initialKeys,
                    initialValues, pairKeys, pairValues, fusedKeys, fusedValues, pairOut, fusedOut}) {
                t.close();
            }
        }
    }
}
