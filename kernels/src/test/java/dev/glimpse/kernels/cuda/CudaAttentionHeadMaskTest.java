package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** SpAtten head masks on the GPU: masked heads are exact zeros, the rest match the CPU's masked attention. */
class CudaAttentionHeadMaskTest {

    private static final double TOL = 1e-4;

    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4} start={5}")
    @CsvSource({
            "70, 70, 8, 2, 64, 0",
            "1, 120, 8, 2, 128, 119",
            "33, 90, 14, 2, 64, 57"})
    void maskedAttentionMatchesCpuAndZeroesMaskedHeads(int t, int s, int hq, int hkv, int d, int start) {
        CudaBackend gpu = cuda();
        boolean[] active = new boolean[hq];
        for (int h = 0; h < hq; h++) {
            active[h] = h % 3 != 1;
        }
        int[] rows = {0, t - 1};
        AttentionMask mask = AttentionMask.causal(start);
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(21, t, hq, d); Tensor k = random(22, s, hkv, d); Tensor v = random(23, s, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor rowProbs = Tensor.allocate(DType.F32, hq, rows.length, s);
             Tensor colSums = Tensor.allocate(DType.F32, hq, s);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor out = gpu.allocate(DType.F32, t, hq, d);
             Tensor gRowProbs = gpu.allocate(DType.F32, hq, rows.length, s);
             Tensor gColSums = gpu.allocate(DType.F32, hq, s)) {
            CPU.attention(q, k, v, mask, scale, expected, new AttentionCapture(rows, rowProbs, colSums), active);
            gpu.attention(gq, gk, gv, mask, scale, out, new AttentionCapture(rows, gRowProbs, gColSums), active);
            assertClose("masked attention", expected, out, TOL);
            assertClose("masked capture rows", rowProbs, gRowProbs, TOL);
            assertClose("masked column sums", colSums, gColSums, TOL);
            try (Tensor host = gpu.download(out)) {
                float[] o = host.toFloatArray();
                for (int i = 0; i < t; i++) {
                    for (int h = 0; h < hq; h++) {
                        for (int c = 0; c < d && !active[h]; c++) {
                            assertEquals(0, Float.floatToRawIntBits(o[(i * hq + h) * d + c]), "head " + h + " row " + i);
                        }
                    }
                }
            }
        }
    }
}
