package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.converted;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CudaBackend#attentionHalfOutput} ({@code attention_mma_cache_<t>_d<D>_<shape>_o16}): a causal
 * prefill over a 16-bit KV cache read in place, its output rounded to 16 bits by the kernel, against
 * {@link CudaBackend#attention}'s F32 rows rounded to nearest even afterwards (what o_proj's
 * {@code convert_f32} does): the same bits, for every block shape the dispatch can pick at LLaVA-7B's
 * 586 and 74 rows, odd row counts, Llama-7B's and Qwen2-0.5B's heads, BF16 and F16, and the single-round
 * key-split shapes ({@code _b1}, also over 1000 keys: several rounds of key tiles); and the CPU's F32
 * attention within the 16-bit tolerance. Where the kernel does not run it says so and queues nothing.
 */
class CudaAttentionHalfOutputTest {

    /** {@link CudaAttentionTest}'s BF16 tolerance plus one bf16 rounding of the output (2^-9 of max |out|). */
    private static final double BF16_TOL = 2.5e-2;
    private static final double F16_TOL = 4e-3;

    @ParameterizedTest(name = "T={0} start={1} heads={2}/{3} D={4} {5} warps={6} smallGrid={7}")
    @CsvSource({
            "586, 0, 32, 32, 128, BF16, auto, auto", "74, 0, 32, 32, 128, BF16, auto, auto",
            "587, 5, 32, 32, 128, BF16, auto, off", "75, 0, 32, 32, 128, F16, auto, auto",
            "586, 0, 32, 32, 128, BF16, w8, off", "586, 0, 32, 32, 128, BF16, w4, w2",
            "74, 9, 32, 32, 128, BF16, w4, w2s2", "586, 0, 14, 2, 64, BF16, auto, auto",
            "73, 3, 14, 2, 64, BF16, auto, auto", "1283, 0, 14, 2, 64, BF16, auto, auto",
            "586, 0, 14, 2, 64, F16, w4x2, off", "586, 0, 14, 2, 64, BF16, w8, off",
            "17, 0, 14, 2, 64, BF16, w4, w2s2",
            "74, 0, 32, 32, 128, BF16, w4, w2s2b1", "74, 9, 14, 2, 64, F16, w4, w2s2b1",
            "17, 0, 14, 2, 64, BF16, w4, w2s2b1", "300, 700, 8, 2, 128, F16, w4, w2s2b1",
            "74, 0, 32, 32, 128, BF16, w4, w2s4b1", "74, 9, 14, 2, 64, F16, w4, w2s4b1",
            "17, 0, 14, 2, 64, BF16, w4, w2s4b1", "300, 700, 8, 2, 128, F16, w4, w2s4b1"})
    void kernelRoundingEqualsTheF32RowsRounded(int tokens, int start, int heads, int kvHeads, int d, DType type,
                                               String warps, String smallGrid) {
        CudaBackend gpu = cuda();
        int keys = start + tokens;
        int capacity = keys + 7;
        float scale = (float) (1 / Math.sqrt(d));
        AttentionPrecision precision = type == DType.BF16 ? AttentionPrecision.BF16 : AttentionPrecision.F16;
        AttentionMask mask = AttentionMask.causal(start);
        try (Tensor q = random(301, 1f, DType.F32, tokens, heads, d); Tensor k = random(302, 1f, DType.F32, keys, kvHeads, d);
             Tensor v = random(303, 1f, DType.F32, keys, kvHeads, d);
             Tensor kRows = converted(k, type); Tensor vRows = converted(v, type);
             Tensor kF32 = converted(kRows, DType.F32); Tensor vF32 = converted(vRows, DType.F32);
             Tensor cacheK = headMajorCache(kF32, capacity); Tensor cacheV = headMajorCache(vF32, capacity);
             Tensor cacheK16 = converted(cacheK, type); Tensor cacheV16 = converted(cacheV, type);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK16); Tensor gv = gpu.upload(cacheV16);
             Tensor rows = gpu.allocate(DType.F32, tokens, heads, d); Tensor half = gpu.allocate(type, tokens, heads, d);
             Tensor expected = Tensor.allocate(DType.F32, tokens, heads, d)) {
            Tensor keyView = gk.slice(1, 0, keys).transpose(0, 1);
            Tensor valueView = gv.slice(1, 0, keys).transpose(0, 1);
            boolean ran = withProperties(Map.of(AttentionMmaWarps.PROPERTY, warps, AttentionSmallGrid.PROPERTY, smallGrid),
                    () -> {
                        gpu.attention(gq, keyView, valueView, mask, scale, rows, null, null, precision);
                        return gpu.attentionHalfOutput(gq, keyView, valueView, mask, scale, half, precision);
                    });
            assertTrue(ran, "the _o16 cache kernel runs");
            try (Tensor rowsHost = gpu.download(rows); Tensor rounded = converted(rowsHost, type)) {
                assertArrayEquals(rounded.toFloatArray(), host(half), "16-bit output vs F32 rows rounded");
            }
            CPU.attention(q, kF32, vF32, mask, scale, expected, null);
            try (Tensor halfAsF32 = gpu.allocate(DType.F32, tokens, heads, d)) {
                gpu.copy(half, halfAsF32);
                assertClose("attentionHalfOutput T=" + tokens + " " + heads + "/" + kvHeads + " D=" + d + " " + type,
                        expected, halfAsF32, type == DType.BF16 ? BF16_TOL : F16_TOL);
            }
        }
    }

    @Test
    void f32PrecisionAndPackedOperandsRunNothing() {
        CudaBackend gpu = cuda();
        int tokens = 74;
        try (Tensor q = gpu.upload(random(311, 1f, DType.F32, tokens, 4, 64));
             Tensor k = gpu.upload(random(312, 1f, DType.BF16, tokens, 4, 64));
             Tensor cache = gpu.upload(random(313, 1f, DType.BF16, 4, 80, 64));
             Tensor out = gpu.allocate(DType.BF16, tokens, 4, 64)) {
            Tensor view = cache.slice(1, 0, tokens).transpose(0, 1);
            AttentionMask mask = AttentionMask.causal(0);
            assertFalse(gpu.attentionHalfOutput(q, view, view, mask, 0.125f, out, AttentionPrecision.F32), "F32 precision");
            assertFalse(gpu.attentionHalfOutput(q, k, k, mask, 0.125f, out, AttentionPrecision.BF16), "packed K and V");
            assertFalse(gpu.attentionHalfOutput(q, view, view, mask, 0.125f, out, AttentionPrecision.F16), "out not F16");
        }
    }

    @Test
    void twoTileBlocksOfHeadDim128HaveNoKernel() {
        CudaBackend gpu = cuda();
        int tokens = 256;
        try (Tensor q = gpu.upload(random(321, 1f, DType.F32, tokens, 2, 128));
             Tensor cache = gpu.upload(random(322, 1f, DType.BF16, 2, tokens, 128));
             Tensor out = gpu.allocate(DType.BF16, tokens, 2, 128)) {
            Tensor view = cache.slice(1, 0, tokens).transpose(0, 1);
            boolean ran = withProperties(Map.of(AttentionMmaWarps.PROPERTY, "w4x2"),
                    () -> gpu.attentionHalfOutput(q, view, view, AttentionMask.causal(0), 0.088f, out,
                            AttentionPrecision.BF16));
            assertFalse(ran, "d128 w4x2");
        }
    }
}
