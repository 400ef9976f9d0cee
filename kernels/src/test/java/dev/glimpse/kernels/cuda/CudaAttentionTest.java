package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

class CudaAttentionTest {

    private static final double TOL = 1e-4;

    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4} causal={5} start={6}")
    @CsvSource({
            "577, 577, 16, 16, 64, false, 0",
            "50, 50, 16, 16, 72, false, 0",
            "37, 37, 14, 2, 64, true, 0",
            "1, 300, 14, 2, 64, true, 299",
            "5, 133, 32, 8, 128, true, 128",
            "729, 729, 16, 16, 72, false, 0",
            "70, 198, 32, 8, 128, true, 128",
            "100, 100, 8, 8, 128, false, 0",
            "17, 90, 4, 1, 40, true, 73",
            "3, 17, 4, 4, 256, false, 0"})
    void attentionMatchesCpu(int t, int s, int hq, int hkv, int d, boolean causal, int start) {
        CudaBackend gpu = cuda();
        AttentionMask mask = causal ? AttentionMask.causal(start) : AttentionMask.BIDIRECTIONAL;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(1, t, hq, d); Tensor k = random(2, s, hkv, d); Tensor v = random(3, s, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor out = gpu.allocate(DType.F32, t, hq, d)) {
            CPU.attention(q, k, v, mask, scale, expected, null);
            gpu.attention(gq, gk, gv, mask, scale, out, null);
            assertClose("attention T=" + t + " S=" + s + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + (causal ? " causal" : " bidir"),
                    expected, out, TOL);
        }
    }

    @Test
    void attentionReadsABf16KvCacheSlice() {
        CudaBackend gpu = cuda();
        int t = 4;
        int used = 90;
        try (Tensor q = random(4, t, 14, 64); Tensor cacheK = random(5, 1f, DType.BF16, 128, 2, 64);
             Tensor cacheV = random(6, 1f, DType.BF16, 128, 2, 64);
             Tensor expected = Tensor.allocate(DType.F32, t, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, 14, 64)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(0, 0, used), cacheV.slice(0, 0, used), mask, 0.125f, expected, null);
            gpu.attention(gq, gk.slice(0, 0, used), gv.slice(0, 0, used), mask, 0.125f, out, null);
            assertClose("attention bf16 kv-cache slice (decode, GQA 7:1)", expected, out, TOL);
        }
    }

    @ParameterizedTest(name = "causal={0}")
    @CsvSource({"false", "true"})
    void captureRecordsRowsAndColumnSumsLikeCpu(boolean causal) {
        CudaBackend gpu = cuda();
        int t = 70;
        int hq = 6;
        int hkv = 3;
        int d = 64;
        int[] rows = {0, 69, 13, 0};
        AttentionMask mask = causal ? AttentionMask.causal(0) : AttentionMask.BIDIRECTIONAL;
        try (Tensor q = random(7, 2f, DType.F32, t, hq, d); Tensor k = random(8, t, hkv, d); Tensor v = random(9, t, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor rowProbs = Tensor.allocate(DType.F32, hq, rows.length, t);
             Tensor colSums = Tensor.allocate(DType.F32, hq, t);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor out = gpu.allocate(DType.F32, t, hq, d);
             Tensor gRowProbs = gpu.allocate(DType.F32, hq, rows.length, t);
             Tensor gColSums = gpu.allocate(DType.F32, hq, t)) {
            CPU.attention(q, k, v, mask, 0.125f, expected, new AttentionCapture(rows, rowProbs, colSums));
            gpu.attention(gq, gk, gv, mask, 0.125f, out, new AttentionCapture(rows, gRowProbs, gColSums));
            String m = causal ? " causal" : " bidir";
            assertClose("attention with capture: out" + m, expected, out, TOL);
            assertClose("attention capture rowProbs" + m, rowProbs, gRowProbs, 1e-5);
            assertClose("attention capture columnSums" + m, colSums, gColSums, 1e-4);
        }
    }
}
