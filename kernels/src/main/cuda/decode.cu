// Decode-step kernels whose per-step scalars live in device memory (written there by a copy from
// pinned host memory at the start of the step), so a captured CUDA graph replays them unchanged.
#include "common.cuh"

// Appends one token's k and v (packed [heads, dim]) as entry *length of the layer's caches
// (head-major [heads, capacity, dim]).
extern "C" __global__ void kv_append_step(const float* k, const float* v, float* key_cache, float* value_cache,
                                          int heads, int capacity, int dim, const int* length) {
    const int at = *length;
    const int n = heads * dim;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int h = i / dim, d = i % dim;
        long long dst = ((long long)h * capacity + at) * dim + d;
        key_cache[dst] = k[i];
        value_cache[dst] = v[i];
    }
}
