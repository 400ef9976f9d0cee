package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class CudaAttentionTest {

    private static final double TOL = 1e-4;
    /**
     * TF32 precision rounds Q, K, V and the probabilities to a 10-bit mantissa (relative error up to
     * 2^-11 each): a float64 simulation of that rounding on these shapes stays below 7e-4; 2e-3
     * leaves room for more heads and the tensor cores' accumulation order, and catches any real bug.
     */
    private static final double TF32_TOL = 2e-3;

    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4} causal={5} start={6}")
    @CsvSource({
            "577, 577, 16, 16, 64, false, 0",
            "50, 50, 16, 16, 72, false, 0",
            "37, 37, 14, 2, 64, true, 0",
            "1, 300, 14, 2, 64, true, 299",
            "5, 133, 32, 8, 128, true, 128",
            "729, 729, 16, 16, 72, false, 0",
            "729, 729, 128, 128, 72, false, 0",
            "300, 1000, 14, 2, 64, true, 700",
            "70, 198, 32, 8, 128, true, 128",
            "100, 100, 8, 8, 128, false, 0",
            "17, 90, 4, 1, 40, true, 73",
            "3, 17, 4, 4, 256, false, 0"})
    void attentionMatchesCpu(int t, int s, int hq, int hkv, int d, boolean causal, int start) {
        attentionVsCpu(1, AttentionPrecision.F32, TOL, "attention", t, s, hq, hkv, d, causal, start);
    }

    /**
     * Random q, k, v (seeds {@code seed}, +1, +2) through the CPU and the CUDA backend at
     * {@code precision}; the outputs agree within {@code tol}.
     */
    private void attentionVsCpu(int seed, AttentionPrecision precision, double tol, String label,
                                int t, int s, int hq, int hkv, int d, boolean causal, int start) {
        CudaBackend gpu = cuda();
        AttentionMask mask = causal ? AttentionMask.causal(start) : AttentionMask.BIDIRECTIONAL;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(seed, t, hq, d); Tensor k = random(seed + 1, s, hkv, d); Tensor v = random(seed + 2, s, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor out = gpu.allocate(DType.F32, t, hq, d)) {
            CPU.attention(q, k, v, mask, scale, expected, null);
            gpu.attention(gq, gk, gv, mask, scale, out, null, null, precision);
            assertClose(label + " T=" + t + " S=" + s + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + (causal ? " causal" : " bidir"),
                    expected, out, tol);
        }
    }

    /**
     * The 1xTF32 tensor-core kernels: SigLIP's D=72 (OneVision's tower, images as heads), CLIP's
     * D=64, D=80, Qwen2's GQA 7:1 prefill and a chunk after a KV prefix, LLaVA-1.5-7B's D=128 (causal,
     * and after a prefix with GQA), a head dim padded from 40 with scalar tile loads, and the
     * fixtures' D=16 at the smallest query count the tensor cores take.
     */
    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4} causal={5} start={6}")
    @CsvSource({
            "729, 729, 32, 32, 72, false, 0",
            "577, 577, 16, 16, 64, false, 0",
            "100, 100, 8, 8, 80, false, 0",
            "1200, 1200, 14, 2, 64, true, 0",
            "300, 1000, 14, 2, 64, true, 700",
            "586, 586, 32, 32, 128, true, 0",
            "70, 198, 32, 8, 128, true, 128",
            "17, 90, 4, 1, 40, true, 73",
            "16, 16, 4, 2, 16, true, 0"})
    void tf32AttentionMatchesCpuWithinTf32Rounding(int t, int s, int hq, int hkv, int d, boolean causal, int start) {
        attentionVsCpu(21, AttentionPrecision.TF32, TF32_TOL, "tf32 attention", t, s, hq, hkv, d, causal, start);
    }

    /** The 1xTF32 kernels' vector tile loads over the decoder's cache layout [Hkv, capacity, D] viewed as [S, Hkv, D]. */
    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2}")
    @CsvSource({"14, 2, 64", "32, 8, 128"})
    void tf32PrefillChunkReadsAnF32KvCacheBlockAfterAPrefix(int hq, int hkv, int d) {
        CudaBackend gpu = cuda();
        int t = 200;
        int used = 900;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(30, t, hq, d); Tensor cacheK = random(31, hkv, 1024, d); Tensor cacheV = random(32, hkv, 1024, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, hq, d)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(1, 0, used).transpose(0, 1), cacheV.slice(1, 0, used).transpose(0, 1), mask,
                    scale, expected, null);
            gpu.attention(gq, gk.slice(1, 0, used).transpose(0, 1), gv.slice(1, 0, used).transpose(0, 1), mask, scale,
                    out, null, null, AttentionPrecision.TF32);
            assertClose("tf32 attention over an F32 kv-cache block after a prefix, Hq=" + hq + " Hkv=" + hkv + " D=" + d,
                    expected, out, TF32_TOL);
        }
    }

    @Test
    void tf32PrecisionRunsAnotherKernelThanF32() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(24, 200, 14, 64); Tensor k = random(25, 200, 2, 64); Tensor v = random(26, 200, 2, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, 200, 14, 64); Tensor fast = gpu.allocate(DType.F32, 200, 14, 64)) {
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, exact, null, null, AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, fast, null, null, AttentionPrecision.TF32);
            float[] e = hostValues(gpu, exact);
            float[] f = hostValues(gpu, fast);
            assertFalse(Arrays.equals(e, f), "TF32 attention gave the F32 kernel's exact bits: the 1xTF32 kernel did not run");
            try (Tensor hostExact = Tensor.of(e, 200, 14, 64)) {
                assertClose("tf32 vs f32 kernel", hostExact, fast, TF32_TOL);
            }
        }
    }

    /** Captured attention feeds pruning scores: at TF32 precision it runs the F32 kernel, bit for bit. */
    @Test
    void captureKeepsTf32PrecisionAttentionExact() {
        CudaBackend gpu = cuda();
        int t = 70;
        int[] rows = {0, 69};
        try (Tensor q = random(27, t, 6, 64); Tensor k = random(28, t, 3, 64); Tensor v = random(29, t, 3, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, t, 6, 64); Tensor asked = gpu.allocate(DType.F32, t, 6, 64);
             Tensor exactRows = gpu.allocate(DType.F32, 6, rows.length, t);
             Tensor askedRows = gpu.allocate(DType.F32, 6, rows.length, t);
             Tensor exactSums = gpu.allocate(DType.F32, 6, t); Tensor askedSums = gpu.allocate(DType.F32, 6, t)) {
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, exact,
                    new AttentionCapture(rows, exactRows, exactSums), null, AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, asked,
                    new AttentionCapture(rows, askedRows, askedSums), null, AttentionPrecision.TF32);
            assertArrayEquals(hostValues(gpu, exact), hostValues(gpu, asked), "output");
            assertArrayEquals(hostValues(gpu, exactRows), hostValues(gpu, askedRows), "rowProbs");
            assertArrayEquals(hostValues(gpu, exactSums), hostValues(gpu, askedSums), "columnSums");
        }
    }

    private static float[] hostValues(CudaBackend gpu, Tensor t) {
        try (Tensor host = gpu.download(t)) {
            return host.toFloatArray();
        }
    }

    /** A prefill chunk after a prefix, over the decoder's cache layout [Hkv, capacity, D] viewed as [S, Hkv, D]. */
    @Test
    void prefillChunkReadsAnF32KvCacheBlockAfterAPrefix() {
        CudaBackend gpu = cuda();
        int t = 200;
        int used = 900;
        try (Tensor q = random(7, t, 14, 64); Tensor cacheK = random(8, 2, 1024, 64); Tensor cacheV = random(9, 2, 1024, 64);
             Tensor expected = Tensor.allocate(DType.F32, t, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, 14, 64)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(1, 0, used).transpose(0, 1), cacheV.slice(1, 0, used).transpose(0, 1), mask,
                    0.125f, expected, null);
            gpu.attention(gq, gk.slice(1, 0, used).transpose(0, 1), gv.slice(1, 0, used).transpose(0, 1), mask, 0.125f,
                    out, null);
            assertClose("attention over an F32 kv-cache block after a prefix (chunked prefill, GQA 7:1)", expected, out, TOL);
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

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} capacity={3} keys={4}")
    @CsvSource({
            "14, 2, 64, 8192, 1",
            "14, 2, 64, 8192, 7",
            "14, 2, 64, 8192, 63",
            "14, 2, 64, 8192, 64",
            "14, 2, 64, 8192, 65",
            "14, 2, 64, 8192, 1000",
            "14, 2, 64, 8192, 6300",
            "32, 32, 128, 8192, 1",
            "32, 32, 128, 8192, 7",
            "32, 32, 128, 8192, 63",
            "32, 32, 128, 8192, 64",
            "32, 32, 128, 8192, 65",
            "32, 32, 128, 8192, 1000",
            "32, 32, 128, 8192, 6300",
            "12, 1, 256, 2048, 777",
            "16, 16, 80, 512, 512",
            "4, 2, 38, 300, 299",
            "28, 4, 128, 100, 100"})
    void decodeAttentionMatchesCpu(int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(11, 1, hq, d); Tensor k = random(12, keys, hkv, d); Tensor v = random(13, keys, hkv, d);
             Tensor cacheK = cache(k, capacity); Tensor cacheV = cache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor hostCount = Tensor.ofInts(new int[] {keys}, 1);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(hostCount); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            gpu.decodeAttention(gq, gk, gv, count, scale, out);
            assertClose("decode Hq=" + hq + " Hkv=" + hkv + " D=" + d + " cap=" + capacity + " keys=" + keys,
                    expected, out, TOL);
        }
    }

    @Test
    void decodeAttentionOverNoKeysWritesZeros() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(14, 1, 14, 64); Tensor cacheK = random(15, 2, 256, 64);
             Tensor cacheV = random(16, 2, 256, 64); Tensor stale = random(17, 1, 14, 64);
             Tensor zeros = Tensor.allocate(DType.F32, 1, 14, 64); Tensor hostCount = Tensor.ofInts(new int[] {0}, 1);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(hostCount); Tensor out = gpu.upload(stale)) {
            gpu.decodeAttention(gq, gk, gv, count, 0.125f, out);
            assertClose("decode over 0 keys", zeros, out, 0);
        }
    }

    @Test
    void decodeAttentionReplayedFromAGraphFollowsTheKeyCount() {
        CudaBackend gpu = cuda();
        int hq = 14;
        int hkv = 2;
        int d = 64;
        int capacity = 8192;
        int most = 6300;
        try (Tensor q = random(18, 1, hq, d); Tensor k = random(19, most, hkv, d); Tensor v = random(20, most, hkv, d);
             Tensor cacheK = cache(k, capacity); Tensor cacheV = cache(v, capacity);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, 1, hq, d);
             StepInputs inputs = gpu.stepInputs(1)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                gpu.decodeAttention(gq, gk, gv, inputs.cell(0), 0.125f, out);
            };
            inputs.set(0, 1);
            step.run();
            try (StepGraph graph = gpu.capture(step)) {
                for (int keys : new int[] {1, 65, 6300, 0, 1000, 64, 7}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor expected = Tensor.allocate(DType.F32, 1, hq, d)) {
                        CPU.attention(q, k.slice(0, 0, keys), v.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL, 0.125f,
                                expected, null);
                        assertClose("decode graph replay keys=" + keys, expected, out, TOL);
                    }
                }
            }
        }
    }

    /** Host caches [Hkv, capacity, D] holding rows [S, Hkv, D] as entries 0..S-1, NaN past them (never read). */
    private static Tensor cache(Tensor rows, int capacity) {
        int s = rows.dim(0);
        int hkv = rows.dim(1);
        int d = rows.dim(2);
        float[] src = rows.toFloatArray();
        float[] cache = new float[hkv * capacity * d];
        Arrays.fill(cache, Float.NaN);
        for (int j = 0; j < s; j++) {
            for (int h = 0; h < hkv; h++) {
                System.arraycopy(src, (j * hkv + h) * d, cache, (h * capacity + j) * d, d);
            }
        }
        return Tensor.of(cache, hkv, capacity, d);
    }
}
