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

// One decode query per head over the first *key_count entries of head-major F32 caches
// [kv_heads, capacity, dim], for short caches: one thread per key scores it into shared memory
// (the dot product in the same order as attention_forward), a block softmax, then P V with the
// block's threads split into (key group, dim). Grid (q_heads); dynamic shared memory
// (capacity + dim + (blockDim / dim) * dim) floats.
extern "C" __global__ void __launch_bounds__(256)
attention_decode_short(const float* q, const float* key_cache, const float* value_cache, float* out,
                       const int* key_count, int q_heads, int kv_heads, int capacity, int dim, float scale) {
    extern __shared__ float sh[];
    __shared__ float red[32];
    float* scores = sh;
    float* qsh = scores + capacity;
    float* part = qsh + dim;
    const int head = blockIdx.x, kv = head / (q_heads / kv_heads);
    const int keys = *key_count;
    const float* kb = key_cache + (long long)kv * capacity * dim;
    const float* vb = value_cache + (long long)kv * capacity * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) qsh[d] = q[(long long)head * dim + d];
    __syncthreads();
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        const float* kr = kb + (long long)j * dim;
        float dot = 0.f;
        for (int d = 0; d < dim; d++) dot += qsh[d] * kr[d];
        float s = dot * scale;
        scores[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, red);
    float sum = 0.f;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        float p = expf(scores[j] - mx);
        scores[j] = p;
        sum += p;
    }
    sum = block_sum(sum, red);
    const int groups = blockDim.x / dim;
    const int d = threadIdx.x % dim, g = threadIdx.x / dim;
    if (g < groups) {
        float acc = 0.f;
#pragma unroll 4
        for (int j = g; j < keys; j += groups) acc += scores[j] * vb[(long long)j * dim + d];
        part[g * dim + d] = acc;
    }
    __syncthreads();
    if (threadIdx.x < dim) {
        float s = 0.f;
        for (int i = 0; i < groups; i++) s += part[i * dim + threadIdx.x];
        out[(long long)head * dim + threadIdx.x] = sum > 0.f ? s / sum : 0.f;
    }
}
