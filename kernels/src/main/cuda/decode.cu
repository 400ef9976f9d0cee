// Decode-step kernels whose per-step scalars live in device memory (written there by a copy from
// pinned host memory at the start of the step), so a captured CUDA graph replays them unchanged.
#include "common.cuh"
#include "grid_dependency.cuh"
#include "kv_store.cuh"

// Appends one token's k and v (packed [heads, dim]) as entry *length of the layer's caches
// (head-major [heads, capacity, dim]). kv_append_step keeps F32 caches; kv_append_step_bf16 and
// kv_append_step_f16 round to the 16-bit cache type (nearest even, kv_store.cuh).
template <typename T>
__device__ __forceinline__ void kv_append(const float* k, const float* v, T* key_cache, T* value_cache, int heads,
                                          int capacity, int dim, const int* length) {
    const int at = *length;
    const int n = heads * dim;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int h = i / dim, d = i % dim;
        long long dst = ((long long)h * capacity + at) * dim + d;
        store_kv(key_cache + dst, k[i]);
        store_kv(value_cache + dst, v[i]);
    }
}

extern "C" __global__ void kv_append_step(const float* k, const float* v, float* key_cache, float* value_cache,
                                          int heads, int capacity, int dim, const int* length) {
    grid_dependency_enter();
    kv_append<float>(k, v, key_cache, value_cache, heads, capacity, dim, length);
}

extern "C" __global__ void kv_append_step_bf16(const float* k, const float* v, __nv_bfloat16* key_cache,
                                               __nv_bfloat16* value_cache, int heads, int capacity, int dim,
                                               const int* length) {
    grid_dependency_enter();
    kv_append<__nv_bfloat16>(k, v, key_cache, value_cache, heads, capacity, dim, length);
}

extern "C" __global__ void kv_append_step_f16(const float* k, const float* v, __half* key_cache, __half* value_cache,
                                              int heads, int capacity, int dim, const int* length) {
    grid_dependency_enter();
    kv_append<__half>(k, v, key_cache, value_cache, heads, capacity, dim, length);
}

// Flash-decoding: one query per head over the first *key_count entries of head-major caches
// [kv_heads, capacity, dim], split over the keys so that a short query fills the GPU. Caches are F32
// or 16-bit (the kernels named _bf16 / _f16: entries widened exactly to F32 at load, 8 per 16-byte
// load in the _vec8 kernels); q, partials, softmax and sums are F32 either way, so a 16-bit cache
// gives exactly what an F32 cache holding the same (rounded) values gives.
//
// attention_decode_split: grid (kv_heads * head_blocks, splits), DEC_THREADS threads. Block
// (x, s) takes up to heads_per_block (<= DEC_MAX_HEADS) query heads of one kv head's group, so
// each key and value row is read once for all of them, and split s's chunk of keys. The chunk
// size depends on the key count (decode_chunk), never the grid, so a replayed graph serves every
// count; a split whose chunk starts past the count returns at once. Keys are scored by
// DEC_KEY_LANES lanes per row (consecutive lanes read consecutive 16-byte pieces of a row,
// consecutive lane groups consecutive rows), each block keeps its chunk's scores in shared memory,
// takes the chunk's max and sum of exponentials, then P V with threads over (value column, key
// group). It writes unnormalised partials: acc [q_heads, splits, dim], stats [q_heads, splits, 2]
// (max, sum).
//
// attention_decode_combine: grid (q_heads); merges the used splits by their log-sum-exps into
// out [q_heads, dim] (decode_merge). No keys give zeros.
//
// attention_decode_fused: the split kernel with the combine folded in (one launch instead of two).
// Block (x, s) of a used split writes its partials as attention_decode_split does, then counts
// itself in counters[x] (an atomic add after a fence); the block that completes the count merges
// the splits of its heads with decode_merge, exactly as attention_decode_combine does (the same
// F32 operations in the same order, whichever block arrives last), and resets counters[x] to zero
// for the next launch. Blocks of splits past the key count return at once without counting.
//
// Every kernel here starts with grid_dependency_enter() (grid_dependency.cuh), so it may be
// launched with programmatic dependent launch.
#include "decode_common.cuh"

// Dynamic shared memory: q [heads_per_block][dim], scores [heads_per_block][DEC_MAX_CHUNK],
// P V partials [key groups][heads_per_block][dim]. VW = 4 (F32 caches) and VW = 8 (16-bit caches)
// need dim % VW == 0 and 16-byte aligned caches and q.
template <int VW, typename T>
__device__ __forceinline__ void
decode_split(const float* __restrict__ q, const T* __restrict__ key_cache, const T* __restrict__ value_cache,
             float* __restrict__ partial_acc, float* __restrict__ partial_stats, const int* key_count, int q_heads,
             int kv_heads, int capacity, int dim, int splits, int heads_per_block, float scale) {
    extern __shared__ __align__(16) float dec_sh[];
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int h0 = kv * group + (blockIdx.x % head_blocks) * heads_per_block;
    const int nh = min(heads_per_block, (kv + 1) * group - h0);
    const int split = blockIdx.y;
    const int keys = decode_keys(key_count, capacity);
    const int chunk = decode_chunk(keys, splits);
    const int start = split * chunk;
    if (start >= keys) return;
    const int n = min(chunk, keys - start);
    const int cols = dim / VW;
    float* qsh = dec_sh;
    float* scores = qsh + heads_per_block * dim;
    float* part = scores + heads_per_block * DEC_MAX_CHUNK;

    for (int i = threadIdx.x; i < nh * dim; i += DEC_THREADS) qsh[i] = q[(long long)h0 * dim + i];
    __syncthreads();

    // Scores: lane r of each group of DEC_KEY_LANES reads columns r, r + DEC_KEY_LANES, ... of two rows.
    const int r = threadIdx.x % DEC_KEY_LANES, slot = threadIdx.x / DEC_KEY_LANES;
    const T* kb = key_cache + ((long long)kv * capacity + start) * dim;
    for (int j0 = 0; j0 < n; j0 += DEC_ROWS_PER_PASS) {
        const int ja = j0 + slot, jb = ja + DEC_ROWS_PER_PASS / 2;
        const bool ina = ja < n, inb = jb < n;
        float da[DEC_MAX_HEADS], db[DEC_MAX_HEADS];
#pragma unroll
        for (int h = 0; h < DEC_MAX_HEADS; h++) da[h] = db[h] = 0.f;
        for (int c = r; c < cols; c += DEC_KEY_LANES) {
            float ka[VW], kbv[VW];
#pragma unroll
            for (int i = 0; i < VW; i++) ka[i] = kbv[i] = 0.f;
            if (ina) load_vec<VW>(kb + (long long)ja * dim + c * VW, ka);
            if (inb) load_vec<VW>(kb + (long long)jb * dim + c * VW, kbv);
#pragma unroll
            for (int h = 0; h < DEC_MAX_HEADS; h++) {
                if (h < nh) {
                    float qv[VW];
                    load_vec<VW>(qsh + h * dim + c * VW, qv);
#pragma unroll
                    for (int i = 0; i < VW; i++) {
                        da[h] += qv[i] * ka[i];
                        db[h] += qv[i] * kbv[i];
                    }
                }
            }
        }
        float sa = 0.f, sb = 0.f;
#pragma unroll
        for (int h = 0; h < DEC_MAX_HEADS; h++) {
#pragma unroll
            for (int o = DEC_KEY_LANES / 2; o > 0; o >>= 1) {
                da[h] += __shfl_xor_sync(0xffffffffu, da[h], o);
                db[h] += __shfl_xor_sync(0xffffffffu, db[h], o);
            }
            if (h == r) {
                sa = da[h];
                sb = db[h];
            }
        }
        if (r < nh) {
            if (ina) scores[r * DEC_MAX_CHUNK + ja] = sa * scale;
            if (inb) scores[r * DEC_MAX_CHUNK + jb] = sb * scale;
        }
    }
    __syncthreads();

    // The chunk's softmax statistics, one warp per head; scores become exp(score - max).
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int h = warp; h < nh; h += DEC_THREADS / 32) {
        float* s = scores + h * DEC_MAX_CHUNK;
        float m = -INFINITY;
        for (int j = lane; j < n; j += 32) m = fmaxf(m, s[j]);
        m = warp_max(m);
        float l = 0.f;
        for (int j = lane; j < n; j += 32) {
            float p = expf(s[j] - m);
            s[j] = p;
            l += p;
        }
        l = warp_sum(l);
        if (lane == 0) {
            float* st = partial_stats + ((long long)(h0 + h) * splits + split) * 2;
            st[0] = m;
            st[1] = l;
        }
    }
    __syncthreads();

    // P V: item (column c, key group g) sums rows g, g + groups, ... of column c for every head.
    const int groups = max(1, DEC_THREADS / cols);
    const T* vb = value_cache + ((long long)kv * capacity + start) * dim;
    for (int item = threadIdx.x; item < groups * cols; item += DEC_THREADS) {
        const int c = item % cols, g = item / cols;
        float acc[DEC_MAX_HEADS][VW];
#pragma unroll
        for (int h = 0; h < DEC_MAX_HEADS; h++) {
#pragma unroll
            for (int i = 0; i < VW; i++) acc[h][i] = 0.f;
        }
#pragma unroll 4
        for (int j = g; j < n; j += groups) {
            float v[VW];
            load_vec<VW>(vb + (long long)j * dim + c * VW, v);
#pragma unroll
            for (int h = 0; h < DEC_MAX_HEADS; h++) {
                if (h < nh) {
                    float p = scores[h * DEC_MAX_CHUNK + j];
#pragma unroll
                    for (int i = 0; i < VW; i++) acc[h][i] += p * v[i];
                }
            }
        }
#pragma unroll
        for (int h = 0; h < DEC_MAX_HEADS; h++) {
            if (h < nh) {
                float* dst = part + (g * heads_per_block + h) * dim + c * VW;
#pragma unroll
                for (int i = 0; i < VW; i++) dst[i] = acc[h][i];
            }
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < nh * dim; i += DEC_THREADS) {
        const int h = i / dim, d = i % dim;
        float s = 0.f;
        for (int g = 0; g < groups; g++) s += part[(g * heads_per_block + h) * dim + d];
        partial_acc[((long long)(h0 + h) * splits + split) * dim + d] = s;
    }
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
attention_decode_split(const float* q, const float* key_cache, const float* value_cache, float* partial_acc,
                       float* partial_stats, const int* key_count, int q_heads, int kv_heads, int capacity, int dim,
                       int splits, int heads_per_block, float scale) {
    grid_dependency_enter();
    decode_split<1, float>(q, key_cache, value_cache, partial_acc, partial_stats, key_count, q_heads, kv_heads,
                           capacity, dim, splits, heads_per_block, scale);
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
attention_decode_split_vec4(const float* q, const float* key_cache, const float* value_cache, float* partial_acc,
                            float* partial_stats, const int* key_count, int q_heads, int kv_heads, int capacity,
                            int dim, int splits, int heads_per_block, float scale) {
    grid_dependency_enter();
    decode_split<4, float>(q, key_cache, value_cache, partial_acc, partial_stats, key_count, q_heads, kv_heads,
                           capacity, dim, splits, heads_per_block, scale);
}

// 16-bit caches: T the cache type, VW 1 (any dim) or 8 (dim % 8 == 0, 16-byte aligned q and caches).
#define DECODE_SPLIT_KERNEL(name, VW, T)                                                                         \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS)                                                    \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc, float* partial_stats,     \
         const int* key_count, int q_heads, int kv_heads, int capacity, int dim, int splits, int heads_per_block, \
         float scale) {                                                                                          \
        grid_dependency_enter();                                                                                 \
        decode_split<VW, T>(q, key_cache, value_cache, partial_acc, partial_stats, key_count, q_heads, kv_heads, \
                            capacity, dim, splits, heads_per_block, scale);                                     \
    }

DECODE_SPLIT_KERNEL(attention_decode_split_bf16, 1, __nv_bfloat16)
DECODE_SPLIT_KERNEL(attention_decode_split_bf16_vec8, 8, __nv_bfloat16)
DECODE_SPLIT_KERNEL(attention_decode_split_f16, 1, __half)
DECODE_SPLIT_KERNEL(attention_decode_split_f16_vec8, 8, __half)

#include "decode_merge.cuh"

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
attention_decode_combine(const float* __restrict__ partial_acc, const float* __restrict__ partial_stats,
                         float* __restrict__ out, const int* key_count, int capacity, int dim, int splits) {
    grid_dependency_enter();
    const int head = blockIdx.x;
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) {
        float* o = out + (long long)head * dim;
        for (int d = threadIdx.x; d < dim; d += DEC_THREADS) o[d] = 0.f;
        return;
    }
    const int chunk = decode_chunk(keys, splits);
    decode_merge<1>(partial_acc, partial_stats, out, head, 1, (keys + chunk - 1) / chunk, dim, splits);
}

// Split and combine in one launch (see attention_decode_fused above): counters [gridDim.x] are zero
// before the launch and after it.
template <int VW, typename T>
__device__ __forceinline__ void
decode_fused(const float* q, const T* key_cache, const T* value_cache, float* partial_acc, float* partial_stats,
             float* out, int* counters, const int* key_count, int q_heads, int kv_heads, int capacity, int dim,
             int splits, int heads_per_block, float scale) {
    __shared__ int merges;
    const auto [kv, h0, nh] = decode_heads(q_heads, kv_heads, heads_per_block);
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) {
        decode_zero_heads<DEC_THREADS>(out, h0, nh, dim);
        return;
    }
    const int chunk = decode_chunk(keys, splits);
    const int used = (keys + chunk - 1) / chunk;
    if (blockIdx.y >= used) return;
    decode_split<VW, T>(q, key_cache, value_cache, partial_acc, partial_stats, key_count, q_heads, kv_heads, capacity,
                        dim, splits, heads_per_block, scale);
    if (decode_last_split(counters, used, merges))
        decode_merge<MERGE_VW(VW)>(partial_acc, partial_stats, out, h0, nh, used, dim, splits);
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
attention_decode_fused(const float* q, const float* key_cache, const float* value_cache, float* partial_acc,
                       float* partial_stats, float* out, int* counters, const int* key_count, int q_heads,
                       int kv_heads, int capacity, int dim, int splits, int heads_per_block, float scale) {
    grid_dependency_enter();
    decode_fused<1, float>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters, key_count, q_heads,
                           kv_heads, capacity, dim, splits, heads_per_block, scale);
}

// VW = 4: dim % 4 == 0, 16-byte aligned caches and workspace.
extern "C" __global__ void __launch_bounds__(DEC_THREADS)
attention_decode_fused_vec4(const float* q, const float* key_cache, const float* value_cache, float* partial_acc,
                            float* partial_stats, float* out, int* counters, const int* key_count, int q_heads,
                            int kv_heads, int capacity, int dim, int splits, int heads_per_block, float scale) {
    grid_dependency_enter();
    decode_fused<4, float>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters, key_count, q_heads,
                           kv_heads, capacity, dim, splits, heads_per_block, scale);
}

// 16-bit caches, as DECODE_SPLIT_KERNEL.
#define DECODE_FUSED_KERNEL(name, VW, T)                                                                         \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS)                                                    \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc, float* partial_stats,     \
         float* out, int* counters, const int* key_count, int q_heads, int kv_heads, int capacity, int dim,      \
         int splits, int heads_per_block, float scale) {                                                         \
        grid_dependency_enter();                                                                                 \
        decode_fused<VW, T>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters, key_count,     \
                            q_heads, kv_heads, capacity, dim, splits, heads_per_block, scale);                  \
    }

DECODE_FUSED_KERNEL(attention_decode_fused_bf16, 1, __nv_bfloat16)
DECODE_FUSED_KERNEL(attention_decode_fused_bf16_vec8, 8, __nv_bfloat16)
DECODE_FUSED_KERNEL(attention_decode_fused_f16, 1, __half)
DECODE_FUSED_KERNEL(attention_decode_fused_f16_vec8, 8, __half)

#include "decode_online.cuh"

// One kernel per (VW, HP, cache type T): HP query heads scored together (the block's heads padded to a power of two).
#define DECODE_ONLINE_KERNEL(name, VW, HP, T)                                                                    \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS)                                                    \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc,                           \
         float* partial_stats, float* out, int* counters, const int* key_count, int q_heads, int kv_heads,      \
         int capacity, int dim, int splits, int heads_per_block, float scale) {                                  \
        grid_dependency_enter();                                                                                 \
        decode_online_fused<VW, HP, T>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters,    \
                                       key_count, q_heads, kv_heads, capacity, dim, splits, heads_per_block,    \
                                       scale);                                                                   \
    }

DECODE_ONLINE_KERNEL(attention_decode_online_h1, 1, 1, float)
DECODE_ONLINE_KERNEL(attention_decode_online_h2, 1, 2, float)
DECODE_ONLINE_KERNEL(attention_decode_online_h4, 1, 4, float)
DECODE_ONLINE_KERNEL(attention_decode_online_h8, 1, 8, float)
// VW = 4: dim % 4 == 0, 16-byte aligned caches and workspace.
DECODE_ONLINE_KERNEL(attention_decode_online_vec4_h1, 4, 1, float)
DECODE_ONLINE_KERNEL(attention_decode_online_vec4_h2, 4, 2, float)
DECODE_ONLINE_KERNEL(attention_decode_online_vec4_h4, 4, 4, float)
DECODE_ONLINE_KERNEL(attention_decode_online_vec4_h8, 4, 8, float)
// 16-bit caches: VW = 1, or VW = 8 (dim % 8 == 0, 16-byte aligned q, caches and workspace).
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_h1, 1, 1, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_h2, 1, 2, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_h4, 1, 4, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_h8, 1, 8, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_vec8_h1, 8, 1, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_vec8_h2, 8, 2, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_vec8_h4, 8, 4, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_bf16_vec8_h8, 8, 8, __nv_bfloat16)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_h1, 1, 1, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_h2, 1, 2, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_h4, 1, 4, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_h8, 1, 8, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_vec8_h1, 8, 1, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_vec8_h2, 8, 2, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_vec8_h4, 8, 4, __half)
DECODE_ONLINE_KERNEL(attention_decode_online_f16_vec8_h8, 8, 8, __half)
