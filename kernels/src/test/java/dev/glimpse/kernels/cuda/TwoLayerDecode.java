package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cacheEntries;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

/**
 * Two layers' decode attention for the graph replay tests, sharing one workspace and one set of counters:
 * Qwen2-0.5B's shape (14 query heads over 2 kv heads of dim 64, scale 0.125) and Llama-7B's (32 over 32 of
 * dim 128, scale 0.0884), each over full host caches of {@code capacity} entries of a dtype
 * ({@link CudaTestSupport#headMajorCache(Tensor, int, DType)}; q, K and V rows from seeds {@code seed} to
 * {@code seed + 5}), uploaded to the shared backend, both reading their key count from one step input.
 */
final class TwoLayerDecode implements AutoCloseable {

    private static final float QWEN_SCALE = 0.125f;
    private static final float LLAMA_SCALE = 0.0884f;

    private final CudaBackend gpu = cuda();
    private final Tensor q1;
    private final Tensor k1;
    private final Tensor v1;
    private final Tensor q2;
    private final Tensor k2;
    private final Tensor v2;
    private final Tensor cacheK1;
    private final Tensor cacheV1;
    private final Tensor cacheK2;
    private final Tensor cacheV2;
    private final Tensor gq1;
    private final Tensor gk1;
    private final Tensor gv1;
    private final Tensor gq2;
    private final Tensor gk2;
    private final Tensor gv2;
    private final Tensor out1;
    private final Tensor out2;
    /** Cell 0: the key count of both layers. */
    final StepInputs inputs;

    TwoLayerDecode(long seed, DType dtype, int capacity) {
        q1 = random(seed, 1, 14, 64);
        k1 = random(seed + 1, capacity, 2, 64);
        v1 = random(seed + 2, capacity, 2, 64);
        q2 = random(seed + 3, 1, 32, 128);
        k2 = random(seed + 4, capacity, 32, 128);
        v2 = random(seed + 5, capacity, 32, 128);
        cacheK1 = headMajorCache(k1, capacity, dtype);
        cacheV1 = headMajorCache(v1, capacity, dtype);
        cacheK2 = headMajorCache(k2, capacity, dtype);
        cacheV2 = headMajorCache(v2, capacity, dtype);
        gq1 = gpu.upload(q1);
        gk1 = gpu.upload(cacheK1);
        gv1 = gpu.upload(cacheV1);
        gq2 = gpu.upload(q2);
        gk2 = gpu.upload(cacheK2);
        gv2 = gpu.upload(cacheV2);
        out1 = gpu.allocate(DType.F32, 1, 14, 64);
        out2 = gpu.allocate(DType.F32, 1, 32, 128);
        inputs = gpu.stepInputs(1);
    }

    /** Decode attention of the Qwen2-shaped layer over its cache's first {@code inputs} cell 0 entries. */
    void qwen() {
        gpu.decodeAttention(gq1, gk1, gv1, inputs.cell(0), QWEN_SCALE, out1);
    }

    /** Decode attention of the Llama-shaped layer over its cache's first {@code inputs} cell 0 entries. */
    void llama() {
        gpu.decodeAttention(gq2, gk2, gv2, inputs.cell(0), LLAMA_SCALE, out2);
    }

    /** Launches graph at {@code keys} once its last launch has ended (the key count is set on the host). */
    void replay(StepGraph graph, int keys) {
        graph.awaitLastLaunch();
        inputs.set(0, keys);
        gpu.launch(graph);
    }

    /** Asserts each layer's output matches the CPU backend over its cache's first {@code keys} entries. */
    void assertMatchesCpu(int keys, String qwenLabel, String llamaLabel, double tol) {
        try (Tensor e1 = Tensor.allocate(DType.F32, 1, 14, 64); Tensor e2 = Tensor.allocate(DType.F32, 1, 32, 128)) {
            CPU.attention(q1, cacheEntries(cacheK1, keys), cacheEntries(cacheV1, keys), AttentionMask.BIDIRECTIONAL,
                    QWEN_SCALE, e1, null);
            CPU.attention(q2, cacheEntries(cacheK2, keys), cacheEntries(cacheV2, keys), AttentionMask.BIDIRECTIONAL,
                    LLAMA_SCALE, e2, null);
            assertClose(qwenLabel, e1, out1, tol);
            assertClose(llamaLabel, e2, out2, tol);
        }
    }

    /** Closes every tensor and the step inputs, the last made first. */
    @Override
    public void close() {
        inputs.close();
        out2.close();
        out1.close();
        gv2.close();
        gk2.close();
        gq2.close();
        gv1.close();
        gk1.close();
        gq1.close();
        cacheV2.close();
        cacheK2.close();
        cacheV1.close();
        cacheK1.close();
        v2.close();
        k2.close();
        q2.close();
        v1.close();
        k1.close();
        q1.close();
    }
}
