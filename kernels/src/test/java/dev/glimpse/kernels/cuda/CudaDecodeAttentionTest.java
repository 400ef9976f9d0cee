package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.function.Supplier;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Decode attention's two launch shapes ({@link CudaDecodeAttention.Combine}: the split kernel's
 * last block merging, or a separate combine kernel), each with programmatic dependent launch on and
 * off: against the CPU backend, against each other bit for bit (they merge with the same code in
 * the same order), over no keys, key counts on both sides of the split boundaries (64-key chunks),
 * a full cache, the scalar (odd dim) kernels, and graph replays at changing key counts, where the
 * fused kernel's arrival counters must be back at zero after every launch.
 */
class CudaDecodeAttentionTest {

    private static final double TOL = 2e-5;
    private static final String[] COMBINES = {"fused", "separate"};
    private static final String[] PDL = {"true", "false"};

    /** Runs body with the combine mode and PDL setting, restoring the properties after. */
    private static <T> T with(String combine, String pdl, Supplier<T> body) {
        String oldCombine = System.getProperty(CudaBackend.DECODE_COMBINE_PROPERTY);
        String oldPdl = System.getProperty(CudaBackend.PDL_PROPERTY);
        System.setProperty(CudaBackend.DECODE_COMBINE_PROPERTY, combine);
        System.setProperty(CudaBackend.PDL_PROPERTY, pdl);
        try {
            return body.get();
        } finally {
            restore(CudaBackend.DECODE_COMBINE_PROPERTY, oldCombine);
            restore(CudaBackend.PDL_PROPERTY, oldPdl);
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

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} capacity={3} keys={4}")
    @CsvSource({
            "14, 2, 64, 8192, 1",
            "14, 2, 64, 8192, 64",
            "14, 2, 64, 8192, 65",
            "14, 2, 64, 8192, 600",
            "14, 2, 64, 8192, 6300",
            "14, 2, 64, 8192, 8192",
            "32, 32, 128, 8192, 1",
            "32, 32, 128, 8192, 129",
            "32, 32, 128, 8192, 600",
            "12, 1, 256, 2048, 777",
            "4, 2, 38, 300, 299",
            "28, 4, 128, 100, 100"})
    void everyLaunchShapeMatchesCpuAndTheyAgreeBitForBit(int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(31, 1, hq, d); Tensor k = random(32, keys, hkv, d); Tensor v = random(33, keys, hkv, d);
             Tensor cacheK = cache(k, capacity); Tensor cacheV = cache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            float[] reference = null;
            for (String combine : COMBINES) {
                for (String pdl : PDL) {
                    float[] got = with(combine, pdl, () -> {
                        gpu.decodeAttention(gq, gk, gv, count, scale, out);
                        return host(out);
                    });
                    String label = "decode " + combine + " pdl=" + pdl + " Hq=" + hq + " D=" + d + " keys=" + keys;
                    assertClose(label, expected, out, TOL);
                    if (reference == null) {
                        reference = got;
                    } else {
                        assertArrayEquals(reference, got, label + ": differs from fused pdl=true");
                    }
                }
            }
        }
    }

    @Test
    void noKeysWriteZerosInEveryLaunchShape() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(34, 1, 14, 64); Tensor cacheK = random(35, 2, 256, 64);
             Tensor cacheV = random(36, 2, 256, 64); Tensor stale = random(37, 1, 14, 64);
             Tensor zeros = Tensor.allocate(DType.F32, 1, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {0}, 1))) {
            for (String combine : COMBINES) {
                for (String pdl : PDL) {
                    try (Tensor out = gpu.upload(stale)) {
                        with(combine, pdl, () -> {
                            gpu.decodeAttention(gq, gk, gv, count, 0.125f, out);
                            return null;
                        });
                        assertClose("decode over 0 keys " + combine + " pdl=" + pdl, zeros, out, 0);
                    }
                }
            }
        }
    }

    /**
     * Two layers' decode attention per replay (different caches and head groupings, one workspace
     * and one set of counters), replayed at key counts that cross split boundaries, drop to zero
     * and grow again: every replay must match the CPU, so the counters are zero at each launch.
     */
    @ParameterizedTest(name = "combine={0} pdl={1}")
    @CsvSource({"fused, true", "fused, false", "separate, true", "separate, false"})
    void graphReplaysFollowTheKeyCount(String combine, String pdl) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        int most = 6300;
        try (Tensor q1 = random(40, 1, 14, 64); Tensor k1 = random(41, most, 2, 64); Tensor v1 = random(42, most, 2, 64);
             Tensor q2 = random(43, 1, 32, 128); Tensor k2 = random(44, most, 32, 128);
             Tensor v2 = random(45, most, 32, 128);
             Tensor cacheK1 = cache(k1, capacity); Tensor cacheV1 = cache(v1, capacity);
             Tensor cacheK2 = cache(k2, capacity); Tensor cacheV2 = cache(v2, capacity);
             Tensor gq1 = gpu.upload(q1); Tensor gk1 = gpu.upload(cacheK1); Tensor gv1 = gpu.upload(cacheV1);
             Tensor gq2 = gpu.upload(q2); Tensor gk2 = gpu.upload(cacheK2); Tensor gv2 = gpu.upload(cacheV2);
             Tensor out1 = gpu.allocate(DType.F32, 1, 14, 64); Tensor out2 = gpu.allocate(DType.F32, 1, 32, 128);
             StepInputs inputs = gpu.stepInputs(1)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                gpu.decodeAttention(gq1, gk1, gv1, inputs.cell(0), 0.125f, out1);
                gpu.decodeAttention(gq2, gk2, gv2, inputs.cell(0), 0.0884f, out2);
            };
            inputs.set(0, 1);
            with(combine, pdl, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with(combine, pdl, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 1000, 63, 600, 600, 7}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor e1 = Tensor.allocate(DType.F32, 1, 14, 64); Tensor e2 = Tensor.allocate(DType.F32, 1, 32, 128)) {
                        CPU.attention(q1, k1.slice(0, 0, keys), v1.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL, 0.125f,
                                e1, null);
                        CPU.attention(q2, k2.slice(0, 0, keys), v2.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL,
                                0.0884f, e2, null);
                        assertClose("decode replay " + combine + " pdl=" + pdl + " qwen keys=" + keys, e1, out1, TOL);
                        assertClose("decode replay " + combine + " pdl=" + pdl + " llama keys=" + keys, e2, out2, TOL);
                    }
                }
            }
        }
    }

    @Test
    void anUnknownCombineModeIsRejected() {
        CudaBackend gpu = cuda();
        try (Tensor gq = gpu.allocate(DType.F32, 1, 2, 8); Tensor gk = gpu.allocate(DType.F32, 1, 4, 8);
             Tensor gv = gpu.allocate(DType.F32, 1, 4, 8); Tensor count = gpu.upload(Tensor.ofInts(new int[] {1}, 1));
             Tensor out = gpu.allocate(DType.F32, 1, 2, 8)) {
            assertThrows(TensorException.class, () -> with("merged", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, 0.5f, out);
                return null;
            }));
        }
    }

    /** Host caches [Hkv, capacity, D] holding rows [S, Hkv, D] as entries 0..S-1, NaN past them (never read). */
    static Tensor cache(Tensor rows, int capacity) {
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
