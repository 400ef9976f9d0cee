package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cacheEntries;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

/**
 * One decode attention case of the GPU tests: q [1, Hq, D] and K/V rows [keys, Hkv, D] drawn from seeds
 * {@code seed}, {@code seed + 1} and {@code seed + 2}, the rows in host caches [Hkv, capacity, D] of a dtype
 * ({@link CudaTestSupport#headMajorCache(Tensor, int, DType)}), uploaded to the shared backend with q, then the
 * key count and an output [1, Hq, D] on the device; {@link #expected} is the CPU backend's attention over the
 * same cache entries.
 */
record DecodeCase(Tensor q, Tensor k, Tensor v, Tensor cacheK, Tensor cacheV, Tensor expected,
                  Tensor gq, Tensor gk, Tensor gv, Tensor count, Tensor out) implements AutoCloseable {

    static DecodeCase of(long seed, DType dtype, int hq, int hkv, int d, int capacity, int keys, float scale) {
        CudaBackend gpu = cuda();
        Tensor q = random(seed, 1, hq, d);
        Tensor k = random(seed + 1, keys, hkv, d);
        Tensor v = random(seed + 2, keys, hkv, d);
        Tensor cacheK = headMajorCache(k, capacity, dtype);
        Tensor cacheV = headMajorCache(v, capacity, dtype);
        DecodeCase c = new DecodeCase(q, k, v, cacheK, cacheV, Tensor.allocate(DType.F32, 1, hq, d),
                gpu.upload(q), gpu.upload(cacheK), gpu.upload(cacheV), gpu.upload(Tensor.ofInts(new int[] {keys}, 1)),
                gpu.allocate(DType.F32, 1, hq, d));
        try {
            CPU.attention(q, cacheEntries(cacheK, keys), cacheEntries(cacheV, keys), AttentionMask.BIDIRECTIONAL, scale,
                    c.expected, null);
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /** Closes every tensor, the last made first. */
    @Override
    public void close() {
        out.close();
        count.close();
        gv.close();
        gk.close();
        gq.close();
        expected.close();
        cacheV.close();
        cacheK.close();
        v.close();
        k.close();
        q.close();
    }
}
