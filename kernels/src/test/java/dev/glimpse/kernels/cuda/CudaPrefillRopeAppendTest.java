package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link CudaBackend#ropeAppendKvRows} (rows.cu {@code rope_append_kv_rows[_bf16|_f16]}), a prefill
 * block's RoPE and KV cache append in one launch: the bits of {@code rope} on q, {@code rope} on k
 * and the strided copies of k and v into the caches (F32, or 16-bit rounded to nearest even), k
 * itself left unrotated, at the LLaVA-1.5-7B prompt sizes (74 and 586 rows) for Llama-7B's
 * multi-head shape, Qwen2-0.5B's grouped-query shape, a partial rotary dim and more tokens than one
 * grid's y dimension holds (65535); and the CPU's RoPE
 * within F32 (16-bit caches: one rounding of the cache type).
 */
class CudaPrefillRopeAppendTest {

    @ParameterizedTest(name = "T={0} heads={1}/{2} D={3} half={4} start={5} cache={6}")
    @CsvSource({
            "74, 32, 32, 128, 64, 0, BF16", "74, 32, 32, 128, 64, 0, F32", "586, 32, 32, 128, 64, 13, BF16",
            "74, 14, 2, 64, 32, 0, BF16", "586, 14, 2, 64, 32, 5, F16", "586, 14, 2, 64, 32, 0, F32",
            "9, 6, 2, 6, 3, 2, F32", "9, 6, 2, 6, 2, 2, BF16", "70000, 1, 1, 2, 1, 4, F16"})
    void oneLaunchStoresTheBitsOfRopeRopeAndCopies(int tokens, int heads, int kvHeads, int d, int half, int start,
                                                   DType cacheType) {
        CudaBackend gpu = cuda();
        int capacity = start + tokens + 3;
        try (Tensor q = random(201, 1f, DType.F32, tokens, heads, d); Tensor k = random(202, 1f, DType.F32, tokens, kvHeads, d);
             Tensor v = random(203, 1f, DType.F32, tokens, kvHeads, d);
             Tensor cos = random(204, 1f, DType.F32, tokens, half); Tensor sin = random(205, 1f, DType.F32, tokens, half);
             Tensor initial = random(206, 1f, cacheType, kvHeads, capacity, d);
             Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Tensor q1 = gpu.upload(q); Tensor k1 = gpu.upload(k); Tensor v1 = gpu.upload(v);
             Tensor kc1 = gpu.upload(initial); Tensor vc1 = gpu.upload(initial);
             Tensor q2 = gpu.upload(q); Tensor k2 = gpu.upload(k); Tensor v2 = gpu.upload(v);
             Tensor kc2 = gpu.upload(initial); Tensor vc2 = gpu.upload(initial);
             Tensor qCpu = Tensor.allocate(DType.F32, tokens, heads, d); Tensor kCpu = Tensor.allocate(DType.F32, tokens, kvHeads, d);
             Tensor keysCpu = Tensor.allocate(cacheType, kvHeads, capacity, d);
             Tensor valuesCpu = Tensor.allocate(cacheType, kvHeads, capacity, d)) {
            gpu.rope(q1, gc, gs, q1);
            gpu.rope(k1, gc, gs, k1);
            gpu.copy(k1, kc1.slice(1, start, start + tokens).transpose(0, 1));
            gpu.copy(v1, vc1.slice(1, start, start + tokens).transpose(0, 1));
            gpu.ropeAppendKvRows(q2, k2, v2, gc, gs, kc2, vc2, start);
            assertArrayEquals(host(q1), host(q2), "rotated q");
            assertArrayEquals(host(kc1), host(kc2), "key cache");
            assertArrayEquals(host(vc1), host(vc2), "value cache");
            assertArrayEquals(k.toFloatArray(), host(k2), "k itself is left unrotated");

            CPU.rope(q, cos, sin, qCpu);
            CPU.rope(k, cos, sin, kCpu);
            CPU.copy(initial, keysCpu);
            CPU.copy(initial, valuesCpu);
            CPU.copy(kCpu, keysCpu.slice(1, start, start + tokens).transpose(0, 1));
            CPU.copy(v, valuesCpu.slice(1, start, start + tokens).transpose(0, 1));
            double cacheTolerance = switch (cacheType) {
                case BF16 -> 1e-2;
                case F16 -> 2e-3;
                default -> CudaTestSupport.F32;
            };
            String label = " T=" + tokens + " heads=" + heads + "/" + kvHeads + " D=" + d + " " + cacheType;
            assertClose("ropeAppendKvRows q" + label, qCpu, q2, CudaTestSupport.F32);
            assertClose("ropeAppendKvRows keys" + label, keysCpu, kc2, cacheTolerance);
            assertClose("ropeAppendKvRows values" + label, valuesCpu, vc2, 0);
        }
    }

    /**
     * {@code -Dglimpse.cuda.ropeAppendVector=true} ({@code rope_append_kv_rows_vec*}) against the scalar
     * kernel on the same inputs: q, both caches and k bit for bit, at LLaVA-7B's prompt sizes and odd
     * row counts, Llama-7B's and Qwen2-0.5B's heads; the partial rotary dims, {@code half} 3 and the
     * 65535+ tokens run the scalar kernel under the property (the vector kernel needs d == 2 half, half % 4 == 0).
     */
    @ParameterizedTest(name = "T={0} heads={1}/{2} D={3} half={4} start={5} cache={6}")
    @CsvSource({
            "586, 32, 32, 128, 64, 0, BF16", "74, 32, 32, 128, 64, 0, BF16", "587, 32, 32, 128, 64, 13, BF16",
            "75, 32, 32, 128, 64, 3, F16", "1, 32, 32, 128, 64, 0, BF16", "586, 32, 32, 128, 64, 7, F32",
            "586, 14, 2, 64, 32, 0, BF16", "73, 14, 2, 64, 32, 5, BF16", "6295, 14, 2, 64, 32, 1, BF16",
            "74, 14, 2, 64, 32, 0, F32", "33, 6, 2, 16, 8, 1, F16", "9, 6, 2, 6, 3, 2, F32", "9, 6, 2, 8, 2, 2, BF16",
            "70000, 1, 1, 2, 1, 4, F16"})
    void vectorKernelStoresTheScalarKernelsBits(int tokens, int heads, int kvHeads, int d, int half, int start,
                                                DType cacheType) {
        CudaBackend gpu = cuda();
        int capacity = start + tokens + 3;
        try (Tensor q = random(211, 1f, DType.F32, tokens, heads, d); Tensor k = random(212, 1f, DType.F32, tokens, kvHeads, d);
             Tensor v = random(213, 1f, DType.F32, tokens, kvHeads, d);
             Tensor cos = random(214, 1f, DType.F32, tokens, half); Tensor sin = random(215, 1f, DType.F32, tokens, half);
             Tensor initial = random(216, 1f, cacheType, kvHeads, capacity, d);
             Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Tensor q1 = gpu.upload(q); Tensor k1 = gpu.upload(k); Tensor v1 = gpu.upload(v);
             Tensor kc1 = gpu.upload(initial); Tensor vc1 = gpu.upload(initial);
             Tensor q2 = gpu.upload(q); Tensor k2 = gpu.upload(k); Tensor v2 = gpu.upload(v);
             Tensor kc2 = gpu.upload(initial); Tensor vc2 = gpu.upload(initial)) {
            withProperty(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "false",
                    () -> gpu.ropeAppendKvRows(q1, k1, v1, gc, gs, kc1, vc1, start));
            withProperty(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "true",
                    () -> gpu.ropeAppendKvRows(q2, k2, v2, gc, gs, kc2, vc2, start));
            assertArrayEquals(host(q1), host(q2), "rotated q");
            assertArrayEquals(host(kc1), host(kc2), "key cache");
            assertArrayEquals(host(vc1), host(vc2), "value cache");
            assertArrayEquals(k.toFloatArray(), host(k2), "k itself is left unrotated");
        }
    }

    @Test
    void entriesPastTheCapacityAreRefused() {
        CudaBackend gpu = cuda();
        try (Tensor q = gpu.allocate(DType.F32, 4, 2, 8); Tensor k = gpu.allocate(DType.F32, 4, 2, 8);
             Tensor v = gpu.allocate(DType.F32, 4, 2, 8); Tensor cos = gpu.allocate(DType.F32, 4, 4);
             Tensor sin = gpu.allocate(DType.F32, 4, 4); Tensor keys = gpu.allocate(DType.BF16, 2, 6, 8);
             Tensor values = gpu.allocate(DType.BF16, 2, 6, 8)) {
            assertThrows(TensorException.class, () -> gpu.ropeAppendKvRows(q, k, v, cos, sin, keys, values, 3));
        }
    }
}
