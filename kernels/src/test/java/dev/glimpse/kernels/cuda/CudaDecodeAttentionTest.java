package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decode attention's kernels ({@link CudaDecodeAttention.Kernel}: split or online) and the split
 * kernel's two launch shapes ({@link CudaDecodeAttention.Combine}: the split kernel's last block
 * merging, or a separate combine kernel), each with programmatic dependent launch on and off:
 * against the CPU backend, each kernel's launch shapes against each other bit for bit (they merge
 * with the same code in the same order), over no keys, key counts on both sides of the split
 * boundaries (64-key chunks of the split kernel; 32-key tiles and 128-key grains of the online
 * one), a full cache, the scalar (odd dim) kernels, every padded head count of the online kernel
 * (GQA groups 1, 2, 3, 7, 8 and 12 over two blocks), and graph replays at changing key counts,
 * where the arrival counters (shared by both kernels) must be back at zero after every launch.
 */
class CudaDecodeAttentionTest {

    private static final double TOL = 2e-5;
    private static final String KERNEL = CudaDecodeAttention.KERNEL_PROPERTY;
    /** (kernel, combine) pairs; the online kernel always merges in its last block. */
    private static final String[][] MODES = {{"split", "fused"}, {"split", "separate"}, {"online", "fused"}};
    private static final String[] PDL = {"true", "false"};

    /** Runs body with the kernel, combine mode and PDL setting, restoring the properties after. */
    private static <T> T with(String kernel, String combine, String pdl, Supplier<T> body) {
        return withProperties(Map.of(KERNEL, kernel, CudaBackend.DECODE_COMBINE_PROPERTY, combine,
                CudaBackend.PDL_PROPERTY, pdl), body);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
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
            "14, 2, 64, 8192, 31",
            "14, 2, 64, 8192, 33",
            "14, 2, 64, 8192, 128",
            "14, 2, 64, 8192, 129",
            "14, 2, 64, 8192, 257",
            "14, 2, 64, 8192, 4096",
            "14, 2, 64, 8192, 4097",
            "14, 2, 64, 16384, 16000",
            "32, 32, 128, 8192, 1",
            "32, 32, 128, 8192, 129",
            "32, 32, 128, 8192, 600",
            "12, 1, 256, 2048, 777",
            "12, 1, 128, 2048, 777",
            "4, 2, 38, 300, 299",
            "28, 4, 128, 100, 100",
            "32, 4, 128, 4096, 3001",
            "12, 4, 64, 1024, 513",
            "8, 8, 20, 512, 300",
            "6, 6, 33, 700, 257",
            "16, 2, 12, 256, 200"})
    void everyLaunchShapeMatchesCpuAndTheyAgreeBitForBit(int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(31, 1, hq, d); Tensor k = random(32, keys, hkv, d); Tensor v = random(33, keys, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            Map<String, float[]> references = new HashMap<>();
            for (String[] mode : MODES) {
                for (String pdl : PDL) {
                    float[] got = with(mode[0], mode[1], pdl, () -> {
                        gpu.decodeAttention(gq, gk, gv, count, scale, out);
                        return host(out);
                    });
                    String label = "decode " + mode[0] + "/" + mode[1] + " pdl=" + pdl + " Hq=" + hq + " Hkv=" + hkv
                            + " D=" + d + " keys=" + keys;
                    assertClose(label, expected, out, TOL);
                    float[] reference = references.putIfAbsent(mode[0], got);
                    if (reference != null) {
                        assertArrayEquals(reference, got, label + ": differs from " + mode[0] + "'s first launch shape");
                    }
                }
            }
        }
    }

    /**
     * The online kernel at other grid targets ({@link OnlineDecodePlan#GRID_PROPERTY}): chunks of
     * many tiles per warp (1x512: a running softmax rescaled across up to 8 tiles) and of one tile
     * (2x128, 4x128), with PDL, against the CPU.
     */
    @ParameterizedTest(name = "grid={0} Hq={1} Hkv={2} D={3} keys={4}")
    @CsvSource({
            "1x512, 14, 2, 64, 6300",
            "1x512, 14, 2, 64, 1500",
            "1x512, 8, 8, 128, 4000",
            "2x128, 14, 2, 64, 6300",
            "4x128, 14, 2, 64, 8192",
            "1x128, 14, 2, 64, 129",
            "2x256, 28, 4, 36, 5000"})
    void theOnlineKernelMatchesCpuAtEveryGridTarget(String grid, int hq, int hkv, int d, int keys) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        float scale = (float) (1 / Math.sqrt(d));
        String old = System.getProperty(OnlineDecodePlan.GRID_PROPERTY);
        System.setProperty(OnlineDecodePlan.GRID_PROPERTY, grid);
        try (Tensor q = random(51, 1, hq, d); Tensor k = random(52, keys, hkv, d); Tensor v = random(53, keys, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            with("online", "fused", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, scale, out);
                return null;
            });
            assertClose("decode online grid=" + grid + " Hq=" + hq + " D=" + d + " keys=" + keys, expected, out, TOL);
        } finally {
            restore(OnlineDecodePlan.GRID_PROPERTY, old);
        }
    }

    /** q as a view 4 bytes past a 16-byte boundary: the online kernel must not read it 16 bytes at a time. */
    @Test
    void aQueryViewOffTheVectorAlignmentMatchesCpu() {
        CudaBackend gpu = cuda();
        int hq = 14, hkv = 2, d = 64, keys = 777, capacity = 1024;
        float scale = 0.125f;
        try (Tensor q = random(61, 1, hq, d); Tensor k = random(62, keys, hkv, d); Tensor v = random(63, keys, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor padded = Tensor.of(shifted(q.toFloatArray()), hq * d + 1);
             Tensor gPadded = gpu.upload(padded); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1)); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            Tensor gq = gPadded.slice(0, 1, hq * d + 1).reshape(1, hq, d);
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            for (String[] mode : MODES) {
                with(mode[0], mode[1], "true", () -> {
                    gpu.decodeAttention(gq, gk, gv, count, scale, out);
                    return null;
                });
                assertClose("decode " + mode[0] + "/" + mode[1] + " with q off 16-byte alignment", expected, out, TOL);
            }
        }
    }

    /** The values after one leading zero. */
    private static float[] shifted(float[] values) {
        float[] padded = new float[values.length + 1];
        System.arraycopy(values, 0, padded, 1, values.length);
        return padded;
    }

    @Test
    void noKeysWriteZerosInEveryLaunchShape() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(34, 1, 14, 64); Tensor cacheK = random(35, 2, 256, 64);
             Tensor cacheV = random(36, 2, 256, 64); Tensor stale = random(37, 1, 14, 64);
             Tensor zeros = Tensor.allocate(DType.F32, 1, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {0}, 1))) {
            for (String[] mode : MODES) {
                for (String pdl : PDL) {
                    try (Tensor out = gpu.upload(stale)) {
                        with(mode[0], mode[1], pdl, () -> {
                            gpu.decodeAttention(gq, gk, gv, count, 0.125f, out);
                            return null;
                        });
                        assertClose("decode over 0 keys " + mode[0] + "/" + mode[1] + " pdl=" + pdl, zeros, out, 0);
                    }
                }
            }
        }
    }

    /**
     * Two layers' decode attention per replay (different caches and head groupings, one workspace
     * and one set of counters), replayed at key counts that cross split boundaries, drop to zero
     * and grow again: every replay must match the CPU, so the counters are zero at each launch.
     * Kernel "mixed" runs the first layer online and the second split in the same graph, so the
     * two kernels share the counters and workspace.
     */
    @ParameterizedTest(name = "kernel={0} combine={1} pdl={2}")
    @CsvSource({"split, fused, true", "split, fused, false", "split, separate, true", "split, separate, false",
            "online, fused, true", "online, fused, false", "mixed, fused, true", "mixed, separate, false"})
    void graphReplaysFollowTheKeyCount(String kernel, String combine, String pdl) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        int most = capacity;
        try (Tensor q1 = random(40, 1, 14, 64); Tensor k1 = random(41, most, 2, 64); Tensor v1 = random(42, most, 2, 64);
             Tensor q2 = random(43, 1, 32, 128); Tensor k2 = random(44, most, 32, 128);
             Tensor v2 = random(45, most, 32, 128);
             Tensor cacheK1 = headMajorCache(k1, capacity); Tensor cacheV1 = headMajorCache(v1, capacity);
             Tensor cacheK2 = headMajorCache(k2, capacity); Tensor cacheV2 = headMajorCache(v2, capacity);
             Tensor gq1 = gpu.upload(q1); Tensor gk1 = gpu.upload(cacheK1); Tensor gv1 = gpu.upload(cacheV1);
             Tensor gq2 = gpu.upload(q2); Tensor gk2 = gpu.upload(cacheK2); Tensor gv2 = gpu.upload(cacheV2);
             Tensor out1 = gpu.allocate(DType.F32, 1, 14, 64); Tensor out2 = gpu.allocate(DType.F32, 1, 32, 128);
             StepInputs inputs = gpu.stepInputs(1)) {
            boolean mixed = kernel.equals("mixed");
            Runnable step = () -> {
                gpu.upload(inputs);
                if (mixed) {
                    System.setProperty(KERNEL, "online");
                }
                gpu.decodeAttention(gq1, gk1, gv1, inputs.cell(0), 0.125f, out1);
                if (mixed) {
                    System.setProperty(KERNEL, "split");
                }
                gpu.decodeAttention(gq2, gk2, gv2, inputs.cell(0), 0.0884f, out2);
            };
            String first = mixed ? "online" : kernel;
            inputs.set(0, 1);
            with(first, combine, pdl, () -> {
                step.run();
                return null;
            });
            try (StepGraph graph = with(first, combine, pdl, () -> gpu.capture(step))) {
                for (int keys : new int[] {1, 64, 65, 6300, 0, 1000, 63, 600, 600, 7, 4097, 129, 8192}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor e1 = Tensor.allocate(DType.F32, 1, 14, 64); Tensor e2 = Tensor.allocate(DType.F32, 1, 32, 128)) {
                        CPU.attention(q1, k1.slice(0, 0, keys), v1.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL, 0.125f,
                                e1, null);
                        CPU.attention(q2, k2.slice(0, 0, keys), v2.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL,
                                0.0884f, e2, null);
                        String label = "decode replay " + kernel + "/" + combine + " pdl=" + pdl;
                        assertClose(label + " qwen keys=" + keys, e1, out1, TOL);
                        assertClose(label + " llama keys=" + keys, e2, out2, TOL);
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
            assertThrows(TensorException.class, () -> with("split", "merged", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, 0.5f, out);
                return null;
            }));
        }
    }

    @Test
    void anUnknownKernelIsRejected() {
        CudaBackend gpu = cuda();
        try (Tensor gq = gpu.allocate(DType.F32, 1, 2, 8); Tensor gk = gpu.allocate(DType.F32, 1, 4, 8);
             Tensor gv = gpu.allocate(DType.F32, 1, 4, 8); Tensor count = gpu.upload(Tensor.ofInts(new int[] {1}, 1));
             Tensor out = gpu.allocate(DType.F32, 1, 2, 8)) {
            TensorException e = assertThrows(TensorException.class, () -> with("streamed", "fused", "true", () -> {
                gpu.decodeAttention(gq, gk, gv, count, 0.5f, out);
                return null;
            }));
            assertTrue(e.getMessage().contains(KERNEL), e.getMessage());
        }
    }

}
