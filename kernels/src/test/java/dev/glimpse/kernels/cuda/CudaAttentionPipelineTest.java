package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
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
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code -Dglimpse.cuda.attentionStages=3}: the one-group in-place cache kernels with three K and V
 * buffers ({@code attention_mma_cache_<t>_d<D>_<w2|w4|w8>_p3[_o16]}) against the double-buffered
 * kernels on the same causal prefill over a 16-bit cache: the same F32 rows bit for bit, and the same
 * 16-bit rows from {@link CudaBackend#attentionHalfOutput}, at LLaVA-7B's 586 and 74 rows, odd row
 * counts and a cache offset, Llama-7B's and Qwen2-0.5B's heads, BF16 and F16, each block shape forced;
 * and the CPU's F32 attention within the 16-bit tolerance. Shapes without a {@code _p3} kernel
 * ({@code w2s2}, {@code w4x2}) run their usual kernel.
 */
class CudaAttentionPipelineTest {

    /** {@link CudaAttentionTest}'s BF16 and F16 tolerances. */
    private static final double BF16_TOL = 2e-2;
    private static final double F16_TOL = 3e-3;

    @ParameterizedTest(name = "T={0} start={1} heads={2}/{3} D={4} {5} warps={6} smallGrid={7}")
    @CsvSource({
            "586, 0, 32, 32, 128, BF16, w4, off", "74, 0, 32, 32, 128, BF16, w4, off", "587, 5, 32, 32, 128, BF16, w4, off",
            "586, 0, 32, 32, 128, F16, w8, off", "74, 0, 32, 32, 128, BF16, w4, w2", "75, 3, 32, 32, 128, BF16, auto, auto",
            "586, 0, 14, 2, 64, BF16, w4, off", "73, 3, 14, 2, 64, F16, w4, off", "586, 0, 14, 2, 64, BF16, w8, off",
            "129, 0, 14, 2, 64, BF16, w4, w2", "586, 0, 14, 2, 64, BF16, auto, auto", "16, 0, 14, 2, 64, BF16, w4, off"})
    void threeBuffersGiveTheDoubleBufferedBits(int tokens, int start, int heads, int kvHeads, int d, DType type,
                                               String warps, String smallGrid) {
        CudaBackend gpu = cuda();
        int keys = start + tokens;
        int capacity = keys + 5;
        float scale = (float) (1 / Math.sqrt(d));
        AttentionPrecision precision = type == DType.BF16 ? AttentionPrecision.BF16 : AttentionPrecision.F16;
        AttentionMask mask = AttentionMask.causal(start);
        Map<String, String> shape = Map.of(AttentionMmaWarps.PROPERTY, warps, AttentionSmallGrid.PROPERTY, smallGrid);
        try (Tensor q = random(401, 1f, DType.F32, tokens, heads, d); Tensor k = random(402, 1f, DType.F32, keys, kvHeads, d);
             Tensor v = random(403, 1f, DType.F32, keys, kvHeads, d);
             Tensor kRows = converted(k, type); Tensor vRows = converted(v, type);
             Tensor kF32 = converted(kRows, DType.F32); Tensor vF32 = converted(vRows, DType.F32);
             Tensor cacheK = headMajorCache(kF32, capacity); Tensor cacheV = headMajorCache(vF32, capacity);
             Tensor cacheK16 = converted(cacheK, type); Tensor cacheV16 = converted(cacheV, type);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK16); Tensor gv = gpu.upload(cacheV16);
             Tensor two = gpu.allocate(DType.F32, tokens, heads, d); Tensor three = gpu.allocate(DType.F32, tokens, heads, d);
             Tensor two16 = gpu.allocate(type, tokens, heads, d); Tensor three16 = gpu.allocate(type, tokens, heads, d);
             Tensor expected = Tensor.allocate(DType.F32, tokens, heads, d)) {
            Tensor keyView = gk.slice(1, 0, keys).transpose(0, 1);
            Tensor valueView = gv.slice(1, 0, keys).transpose(0, 1);
            boolean[] ran = new boolean[2];
            withProperties(shape, () -> {
                withProperty(CudaBackend.ATTENTION_STAGES_PROPERTY, "2", () -> {
                    gpu.attention(gq, keyView, valueView, mask, scale, two, null, null, precision);
                    ran[0] = gpu.attentionHalfOutput(gq, keyView, valueView, mask, scale, two16, precision);
                });
                withProperty(CudaBackend.ATTENTION_STAGES_PROPERTY, "3", () -> {
                    gpu.attention(gq, keyView, valueView, mask, scale, three, null, null, precision);
                    ran[1] = gpu.attentionHalfOutput(gq, keyView, valueView, mask, scale, three16, precision);
                });
                return null;
            });
            String label = "T=" + tokens + " " + heads + "/" + kvHeads + " D=" + d + " " + type + " " + warps + "/" + smallGrid;
            assertArrayEquals(host(two), host(three), "F32 rows, 3 vs 2 buffers, " + label);
            assertTrue(ran[0] && ran[1], "16-bit output kernels ran, " + label);
            assertArrayEquals(host(two16), host(three16), "16-bit rows, 3 vs 2 buffers, " + label);
            CPU.attention(q, kF32, vF32, mask, scale, expected, null);
            assertClose("attention 3 buffers " + label, expected, three, type == DType.BF16 ? BF16_TOL : F16_TOL);
        }
    }

    @Test
    void unknownDepthIsRefusedNamingTheProperty() {
        CudaBackend gpu = cuda();
        try (Tensor q = gpu.upload(random(411, 1f, DType.F32, 32, 2, 64));
             Tensor cache = gpu.upload(random(412, 1f, DType.BF16, 2, 40, 64));
             Tensor out = gpu.allocate(DType.F32, 32, 2, 64)) {
            Tensor view = cache.slice(1, 0, 32).transpose(0, 1);
            TensorException e = assertThrows(TensorException.class, () -> withProperty(CudaBackend.ATTENTION_STAGES_PROPERTY,
                    "4", () -> gpu.attention(q, view, view, AttentionMask.causal(0), 0.125f, out, null, null,
                            AttentionPrecision.BF16)));
            assertTrue(e.getMessage().contains(CudaBackend.ATTENTION_STAGES_PROPERTY), e.getMessage());
        }
    }
}
