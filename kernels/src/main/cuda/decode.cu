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
#define DEC_THREADS 128
#define DEC_KEY_LANES 8
#define DEC_MAX_HEADS DEC_KEY_LANES
#define DEC_ROWS_PER_PASS (2 * DEC_THREADS / DEC_KEY_LANES)
#define DEC_MIN_CHUNK 64
#define DEC_MAX_CHUNK 256

__device__ __forceinline__ int decode_keys(const int* key_count, int capacity) {
    return min(max(*key_count, 0), capacity);
}

// Keys per split: the count spread over the splits, a multiple of DEC_ROWS_PER_PASS, at least
// DEC_MIN_CHUNK. The host picks splits >= capacity / DEC_MAX_CHUNK, so it never exceeds DEC_MAX_CHUNK.
__device__ __forceinline__ int decode_chunk(int keys, int splits) {
    int per = (keys + splits - 1) / splits;
    per = (per + DEC_ROWS_PER_PASS - 1) / DEC_ROWS_PER_PASS * DEC_ROWS_PER_PASS;
    return max(per, DEC_MIN_CHUNK);
}

// VW consecutive values widened to F32: one 16-byte load for VW = 4 (F32) and VW = 8 (F32: two;
// 16-bit: 8 values, the low half of each 32-bit word first), one 8-byte load for 16-bit VW = 4,
// else one load per value.
template <int VW>
__device__ __forceinline__ void load_vec(const float* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        float4 t = *reinterpret_cast<const float4*>(p);
        x[0] = t.x;
        x[1] = t.y;
        x[2] = t.z;
        x[3] = t.w;
    } else if constexpr (VW == 8) {
        float4 a = *reinterpret_cast<const float4*>(p);
        float4 b = *reinterpret_cast<const float4*>(p + 4);
        x[0] = a.x;
        x[1] = a.y;
        x[2] = a.z;
        x[3] = a.w;
        x[4] = b.x;
        x[5] = b.y;
        x[6] = b.z;
        x[7] = b.w;
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = p[i];
    }
}

template <int VW>
__device__ __forceinline__ void load_vec(const __nv_bfloat16* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        const uint2 t = *reinterpret_cast<const uint2*>(p);
        x[0] = __uint_as_float(t.x << 16);
        x[1] = __uint_as_float(t.x & 0xffff0000u);
        x[2] = __uint_as_float(t.y << 16);
        x[3] = __uint_as_float(t.y & 0xffff0000u);
    } else if constexpr (VW == 8) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        const unsigned w[4] = {t.x, t.y, t.z, t.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            x[2 * i] = __uint_as_float(w[i] << 16);
            x[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = __bfloat162float(p[i]);
    }
}

template <int VW>
__device__ __forceinline__ void load_vec(const __half* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        const uint2 t = *reinterpret_cast<const uint2*>(p);
        const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&t.x));
        const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&t.y));
        x[0] = a.x;
        x[1] = a.y;
        x[2] = b.x;
        x[3] = b.y;
    } else if constexpr (VW == 8) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        const unsigned w[4] = {t.x, t.y, t.z, t.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
            x[2 * i] = f.x;
            x[2 * i + 1] = f.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = __half2float(p[i]);
    }
}

// VW cache values as loaded by the online kernel: F32 values as floats; 8 16-bit values packed in
// four 32-bit words and widened where they are used (half the registers of 8 floats).
template <int VW, typename T>
struct KvVec {
    float x[VW];
    __device__ __forceinline__ void zero() {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = 0.f;
    }
    __device__ __forceinline__ void load(const T* p) { load_vec<VW>(p, x); }
    __device__ __forceinline__ float operator[](int i) const { return x[i]; }
};

template <>
struct KvVec<8, __nv_bfloat16> {
    unsigned w[4];
    __device__ __forceinline__ void zero() { w[0] = w[1] = w[2] = w[3] = 0u; }
    __device__ __forceinline__ void load(const __nv_bfloat16* p) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        w[0] = t.x;
        w[1] = t.y;
        w[2] = t.z;
        w[3] = t.w;
    }
    __device__ __forceinline__ float operator[](int i) const {
        return __uint_as_float((i & 1) ? w[i >> 1] & 0xffff0000u : w[i >> 1] << 16);
    }
};

template <>
struct KvVec<8, __half> {
    unsigned w[4];
    __device__ __forceinline__ void zero() { w[0] = w[1] = w[2] = w[3] = 0u; }
    __device__ __forceinline__ void load(const __half* p) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        w[0] = t.x;
        w[1] = t.y;
        w[2] = t.z;
        w[3] = t.w;
    }
    __device__ __forceinline__ float operator[](int i) const {
        return __half2float(__ushort_as_half((unsigned short)((i & 1) ? w[i >> 1] >> 16 : w[i >> 1] & 0xffffu)));
    }
};

// The merge's vector width for a split kernel's VW: partials are F32, read 4 at a time at most.
#define MERGE_VW(VW) ((VW) > 4 ? 4 : (VW))

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

// Splits 0 .. used - 1 (used >= 1) of heads h0 .. h0 + nh - 1 merged into out [q_heads, dim]: one
// warp per head takes the max m of the splits' maxima and l = sum of sum_s * exp(max_s - m) (lane
// partial sums over splits 32 apart, then warp_sum); then each (head, VW columns) item sums
// exp(max_s - m) * acc_s over s in order and scales by 1 / l. Every output's operations depend on
// used and the partials only (not on nh, VW or the block), so the standalone combine and the fused
// kernel's last block write the same bits. Partials are read through L2 (__ldcg): other blocks of
// the fused kernel wrote them during this launch.
template <int VW>
__device__ __noinline__ void decode_merge(const float* __restrict__ partial_acc, const float* __restrict__ partial_stats,
                             float* __restrict__ out, int h0, int nh, int used, int dim, int splits) {
    __shared__ float head_max[DEC_MAX_HEADS], head_inv[DEC_MAX_HEADS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int h = warp; h < nh; h += DEC_THREADS / 32) {
        const float* st = partial_stats + (long long)(h0 + h) * splits * 2;
        float m = -INFINITY;
        for (int s = lane; s < used; s += 32) m = fmaxf(m, __ldcg(st + 2 * s));
        m = warp_max(m);
        float l = 0.f;
        for (int s = lane; s < used; s += 32) l += __ldcg(st + 2 * s + 1) * expf(__ldcg(st + 2 * s) - m);
        l = warp_sum(l);
        if (lane == 0) {
            head_max[h] = m;
            head_inv[h] = 1.f / l;
        }
    }
    __syncthreads();
    const int cols = dim / VW;
    for (int item = threadIdx.x; item < nh * cols; item += DEC_THREADS) {
        const int h = item / cols, c = item - h * cols;
        const float* st = partial_stats + (long long)(h0 + h) * splits * 2;
        const float* acc = partial_acc + (long long)(h0 + h) * splits * dim + c * VW;
        const float m = head_max[h];
        float a[VW];
#pragma unroll
        for (int i = 0; i < VW; i++) a[i] = 0.f;
#pragma unroll 8
        for (int s = 0; s < used; s++) {
            const float e = expf(__ldcg(st + 2 * s) - m);
            float x[VW];
            if constexpr (VW == 4) {
                float4 t = __ldcg(reinterpret_cast<const float4*>(acc + (long long)s * dim));
                x[0] = t.x;
                x[1] = t.y;
                x[2] = t.z;
                x[3] = t.w;
            } else {
                x[0] = __ldcg(acc + (long long)s * dim);
            }
#pragma unroll
            for (int i = 0; i < VW; i++) a[i] += e * x[i];
        }
        float* o = out + (long long)(h0 + h) * dim + c * VW;
        const float inv = head_inv[h];
#pragma unroll
        for (int i = 0; i < VW; i++) o[i] = a[i] * inv;
    }
}

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
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int h0 = kv * group + (blockIdx.x % head_blocks) * heads_per_block;
    const int nh = min(heads_per_block, (kv + 1) * group - h0);
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) {
        if (blockIdx.y == 0) {
            for (int i = threadIdx.x; i < nh * dim; i += DEC_THREADS) out[(long long)h0 * dim + i] = 0.f;
        }
        return;
    }
    const int chunk = decode_chunk(keys, splits);
    const int used = (keys + chunk - 1) / chunk;
    if (blockIdx.y >= used) return;
    decode_split<VW, T>(q, key_cache, value_cache, partial_acc, partial_stats, key_count, q_heads, kv_heads, capacity,
                        dim, splits, heads_per_block, scale);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        const bool last = atomicAdd(counters + blockIdx.x, 1) == used - 1;
        if (last) {
            atomicExch(counters + blockIdx.x, 0);
            __threadfence();
        }
        merges = last;
    }
    __syncthreads();
    if (merges) decode_merge<MERGE_VW(VW)>(partial_acc, partial_stats, out, h0, nh, used, dim, splits);
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

// Online flash-decoding for long contexts: attention_decode_online[_vec4]_h<HP> computes what
// attention_decode_fused does (F32 scores, softmax and sums; not the same bits) with fewer serial
// phases per block and larger chunks, so fewer splits reach the merge.
//
// Grid (kv_heads * head_blocks, splits), DEC_THREADS threads, heads_per_block <= HP (a power of two
// <= DEC_MAX_HEADS; heads past the block's score zero queries, read from global memory with the
// keys, so the first key loads wait for no barrier), dim <= ONL_MAX_DIM.
// Split s takes a chunk of online_chunk(keys, splits) keys (a multiple of ONL_GRAIN: every warp gets
// whole 32-key tiles, warp w the tiles w, w + ONL_WARPS, ...). Each warp keeps a running softmax
// (max m, sum l, unnormalised P V) per head in registers, tile by tile:
// - scores: ONL_KEY_LANES lanes per key row (lane r reads columns r, r + 8, ... of rows
//   rg, rg + 4, ..., rg = lane / 8, ONL_ROWS rows), dot products with every head at once, then a
//   reduce-scatter over the 8 lanes (online_reduce_heads) leaves head r % HP's score in lane r;
// - softmax: the tile's max per head over the 4 row groups, rescale factor exp(m - m'), p = exp(s - m');
//   p and the factors go through the warp's shared buffer;
// - P V: lanes over value columns (8, 16 or 32 lanes per row), rows of the tile in order, the value
//   loads of ONL_BATCH rows issued before their products.
// The block's warps then merge their (m, l, P V) in shared memory in a fixed tree order and write the
// split's partials like attention_decode_split; the last block of a head group merges the splits
// with decode_merge as attention_decode_fused does (same counters, reset to zero after).
#define ONL_TILE 32
#define ONL_KEY_LANES 8
#define ONL_ROWS (ONL_TILE * ONL_KEY_LANES / 32)
#define ONL_WARPS (DEC_THREADS / 32)
#define ONL_GRAIN (ONL_TILE * ONL_WARPS)
#define ONL_MAX_DIM 128
#define ONL_BATCH 8

// Keys per split: the count spread over the splits, a multiple of ONL_GRAIN, at least ONL_GRAIN.
__device__ __forceinline__ int online_chunk(int keys, int splits) {
    int per = (keys + splits - 1) / splits;
    per = (per + ONL_GRAIN - 1) / ONL_GRAIN * ONL_GRAIN;
    return max(per, ONL_GRAIN);
}

// v[h] holds this lane's partial dot of one key row with head h; the 8 lanes of a row group
// (lanes differing in bits 0..2) together hold the full dots. Returns the full dot of head
// lane % HP: butterfly sums over the lane bits above HP, then a reduce-scatter over the rest, each
// step keeping the half of the heads its lane bit selects and adding the partner's copy of it.
template <int HP>
__device__ __forceinline__ float online_reduce_heads(float (&v)[HP], int lane) {
#pragma unroll
    for (int o = ONL_KEY_LANES / 2; o >= HP; o >>= 1) {
#pragma unroll
        for (int h = 0; h < HP; h++) v[h] += __shfl_xor_sync(0xffffffffu, v[h], o);
    }
#pragma unroll
    for (int n = HP; n > 1; n >>= 1) {
        const int o = n / 2;
        const bool upper = (lane & o) != 0;
#pragma unroll
        for (int i = 0; i < n / 2; i++) {
            const float keep = upper ? v[i + o] : v[i];
            const float send = upper ? v[i] : v[i + o];
            v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
        }
    }
    return v[0];
}

template <int VW, int HP, typename T>
__device__ __forceinline__ void
decode_online(const float* __restrict__ q, const T* __restrict__ key_cache, const T* __restrict__ value_cache,
              float* __restrict__ partial_acc, float* __restrict__ partial_stats, int kv, int h0, int nh, int start,
              int n, int capacity, int dim, int splits, float scale) {
    // Values per load: scores VW (16-bit h8: 4, as 8 values of 8 heads' products take more registers
    // than there are), P V at most 4 (16-bit: 8 bytes).
    constexpr int SW = VW == 8 && HP == 8 ? 4 : VW;
    constexpr int PW = MERGE_VW(VW);
    constexpr int CPL = ONL_MAX_DIM / PW / 32 > 0 ? ONL_MAX_DIM / PW / 32 : 1;
    __shared__ float pbuf[ONL_WARPS][ONL_TILE * HP + HP];
    __shared__ __align__(16) float mbuf[ONL_WARPS / 2][HP * ONL_MAX_DIM];
    __shared__ float wm[ONL_WARPS][HP], wl[ONL_WARPS][HP];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int split = blockIdx.y;
    const int kcols = dim / SW, cols = dim / PW;

    // Score layout: key lane r, row group rg. Value layout: vl lanes per row, row vr of rpi per pass.
    const int r = lane % ONL_KEY_LANES, rg = lane / ONL_KEY_LANES;
    const int head = r % HP;
    const int vl = cols > 16 ? 32 : (cols > 8 ? 16 : 8);
    const int rpi = 32 / vl, vr = lane / vl, vc = lane % vl;
    const T* kb = key_cache + ((long long)kv * capacity + start) * dim;
    const float* qh = q + (long long)h0 * dim;
    const T* vb = value_cache + ((long long)kv * capacity + start) * dim;
    float* pw = pbuf[warp];
    float m = -INFINITY, l = 0.f;
    float acc[HP][CPL][PW];
#pragma unroll
    for (int h = 0; h < HP; h++) {
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
            for (int i = 0; i < PW; i++) acc[h][cl][i] = 0.f;
        }
    }

    for (int t0 = warp * ONL_TILE; t0 < n; t0 += ONL_WARPS * ONL_TILE) {
        float dot[ONL_ROWS][HP];
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
            for (int h = 0; h < HP; h++) dot[j][h] = 0.f;
        }
#pragma unroll 2
        for (int c = r; c < kcols; c += ONL_KEY_LANES) {
            KvVec<SW, T> kv4[ONL_ROWS];
#pragma unroll
            for (int j = 0; j < ONL_ROWS; j++) {
                const int row = t0 + rg + 4 * j;
                kv4[j].zero();
                if (row < n) kv4[j].load(kb + (long long)row * dim + c * SW);
            }
#pragma unroll
            for (int h = 0; h < HP; h++) {
                float qv[SW];
#pragma unroll
                for (int i = 0; i < SW; i++) qv[i] = 0.f;
                if (h < nh) load_vec<SW>(qh + h * dim + c * SW, qv);
#pragma unroll
                for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
                    for (int i = 0; i < SW; i++) dot[j][h] += qv[i] * kv4[j][i];
                }
            }
        }
        float s[ONL_ROWS];
        float tmax = -INFINITY;
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
            const float x = online_reduce_heads<HP>(dot[j], lane) * scale;
            s[j] = t0 + rg + 4 * j < n ? x : -INFINITY;
            tmax = fmaxf(tmax, s[j]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 8));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 16));
        const float mnew = fmaxf(m, tmax);
        const float alpha = expf(m - mnew);
        float psum = 0.f;
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
            const float p = expf(s[j] - mnew);
            psum += p;
            if (r < HP) pw[(rg + 4 * j) * HP + head] = p;
        }
        l = l * alpha + psum;
        m = mnew;
        if (rg == 0 && r < HP) pw[ONL_TILE * HP + head] = alpha;
        __syncwarp();

#pragma unroll
        for (int h = 0; h < HP; h++) {
            const float a = pw[ONL_TILE * HP + h];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                for (int i = 0; i < PW; i++) acc[h][cl][i] *= a;
            }
        }
        // Rows vr, vr + rpi, ... of the tile, ONL_BATCH at a time: their value loads are all issued
        // before the first product; rows past the chunk load zeros (their p is zero too).
        const int rows = min(ONL_TILE, n - t0);
        for (int j0 = vr; j0 < ONL_TILE; j0 += ONL_BATCH * rpi) {
            KvVec<PW, T> v[ONL_BATCH][CPL];
#pragma unroll
            for (int u = 0; u < ONL_BATCH; u++) {
                const int j = j0 + u * rpi;
#pragma unroll
                for (int cl = 0; cl < CPL; cl++) {
                    const int c = vc + cl * vl;
                    v[u][cl].zero();
                    if (j < rows && c < cols) v[u][cl].load(vb + (long long)(t0 + j) * dim + c * PW);
                }
            }
#pragma unroll
            for (int u = 0; u < ONL_BATCH; u++) {
                const int j = min(j0 + u * rpi, ONL_TILE - 1);
                float p[HP];
#pragma unroll
                for (int h = 0; h < HP; h++) p[h] = j0 + u * rpi < rows ? pw[j * HP + h] : 0.f;
#pragma unroll
                for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) acc[h][cl][i] += p[h] * v[u][cl][i];
                    }
                }
            }
        }
        __syncwarp();
    }

    // The warp's P V over its row lanes (vr) into the lanes with vr == 0; its l over the row groups.
    for (int o = 16; o >= vl; o >>= 1) {
#pragma unroll
        for (int h = 0; h < HP; h++) {
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                for (int i = 0; i < PW; i++) acc[h][cl][i] += __shfl_xor_sync(0xffffffffu, acc[h][cl][i], o);
            }
        }
    }
    l += __shfl_xor_sync(0xffffffffu, l, 8);
    l += __shfl_xor_sync(0xffffffffu, l, 16);
    if (rg == 0 && r < HP) {
        wm[warp][head] = m;
        wl[warp][head] = l;
    }
    __syncthreads();

    // Block merge: each warp's sums scaled to the block max, then added in a fixed tree order.
    float bmax[HP];
#pragma unroll
    for (int h = 0; h < HP; h++) {
        float x = wm[0][h];
#pragma unroll
        for (int w = 1; w < ONL_WARPS; w++) x = fmaxf(x, wm[w][h]);
        bmax[h] = x;
        const float f = expf(wm[warp][h] - x);
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
            for (int i = 0; i < PW; i++) acc[h][cl][i] *= f;
        }
    }
    for (int half = ONL_WARPS / 2; half >= 1; half >>= 1) {
        if (warp >= half && warp < 2 * half && vr == 0) {
            float* dst = mbuf[warp - half];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
                const int c = vc + cl * vl;
                if (c < cols) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) dst[h * dim + c * PW + i] = acc[h][cl][i];
                    }
                }
            }
        }
        __syncthreads();
        if (warp < half && vr == 0) {
            const float* src = mbuf[warp];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
                const int c = vc + cl * vl;
                if (c < cols) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) acc[h][cl][i] += src[h * dim + c * PW + i];
                    }
                }
            }
        }
        __syncthreads();
    }
    if (warp == 0 && vr == 0) {
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
            const int c = vc + cl * vl;
            if (c < cols) {
#pragma unroll
                for (int h = 0; h < HP; h++) {
                    if (h < nh) {
                        float* dst = partial_acc + ((long long)(h0 + h) * splits + split) * dim + c * PW;
#pragma unroll
                        for (int i = 0; i < PW; i++) dst[i] = acc[h][cl][i];
                    }
                }
            }
        }
    }
    if (threadIdx.x < nh) {
        const int h = threadIdx.x;
        float mx = wm[0][h];
        for (int w = 1; w < ONL_WARPS; w++) mx = fmaxf(mx, wm[w][h]);
        float sum = 0.f;
        for (int w = 0; w < ONL_WARPS; w++) sum += wl[w][h] * expf(wm[w][h] - mx);
        float* st = partial_stats + ((long long)(h0 + h) * splits + split) * 2;
        st[0] = mx;
        st[1] = sum;
    }
}

// Online split blocks with the fused last-block merge (see above); counters as attention_decode_fused.
template <int VW, int HP, typename T>
__device__ __forceinline__ void
decode_online_fused(const float* q, const T* key_cache, const T* value_cache, float* partial_acc,
                    float* partial_stats, float* out, int* counters, const int* key_count, int q_heads, int kv_heads,
                    int capacity, int dim, int splits, int heads_per_block, float scale) {
    __shared__ int merges;
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int h0 = kv * group + (blockIdx.x % head_blocks) * heads_per_block;
    const int nh = min(heads_per_block, (kv + 1) * group - h0);
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) {
        if (blockIdx.y == 0) {
            for (int i = threadIdx.x; i < nh * dim; i += DEC_THREADS) out[(long long)h0 * dim + i] = 0.f;
        }
        return;
    }
    const int chunk = online_chunk(keys, splits);
    const int used = (keys + chunk - 1) / chunk;
    if (blockIdx.y >= used) return;
    const int start = blockIdx.y * chunk;
    decode_online<VW, HP, T>(q, key_cache, value_cache, partial_acc, partial_stats, kv, h0, nh, start,
                          min(chunk, keys - start), capacity, dim, splits, scale);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        const bool last = atomicAdd(counters + blockIdx.x, 1) == used - 1;
        if (last) {
            atomicExch(counters + blockIdx.x, 0);
            __threadfence();
        }
        merges = last;
    }
    __syncthreads();
    if (merges) decode_merge<MERGE_VW(VW)>(partial_acc, partial_stats, out, h0, nh, used, dim, splits);
}

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
