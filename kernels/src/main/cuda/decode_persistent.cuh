// The persistent decode step's device code (decode_persistent.cu describes it), shared by
// decode_persistent.cu (the kernels a session runs) and decode_persistent_timed.cu (the same kernels
// recording per-phase barrier times): two modules, so that adding the timed kernels changes none of
// the untimed kernels' code (one module's device functions used by more kernels are laid out differently).
#pragma once

#include "activation.cuh"
#include "gemv_core.cuh"
#include "kv_store.cuh"

#include <type_traits>

#define PD_THREADS 256
#define PD_WARPS (PD_THREADS / 32)
#define PD_R 4        // weight rows per warp group (gemv_core multi4)
#define PD_U (GEMV_MULTI_LOADS / PD_R)   // 16-byte chunks per lane and step of every gemv_phase
#define PD_PAIRS 2    // gate/up pairs per warp group
#define PD_CHUNK 64   // keys per attention item
#define PD_LINE 128   // bytes per L2 prefetch
#define PD_BARRIER_TIMEOUT_NS 2000000000ull
#define PD_PHASES 5   // grid barriers per layer: after q/k/v, attention, o_proj, gate/up, down

// One decoder layer's device addresses (CudaPersistentDecode writes the table: 20 pointers).
struct LayerTable {
    const void* input_norm;
    const void* post_norm;
    const void* wq;
    const void* wk;
    const void* wv;
    const void* bq;
    const void* bk;
    const void* bv;
    const void* wo;
    const void* bo;
    const void* wgate;
    const void* bgate;
    const void* wup;
    const void* bup;
    const void* wdown;
    const void* bdown;
    void* key_cache;
    void* value_cache;
    const int* length;
    const int* key_count;
};

// The launch's arguments, passed by value (CudaPersistentDecode mirrors this layout).
struct DecodeParams {
    const LayerTable* layers;
    float* x;
    float* residual;
    float* q;
    float* k;
    float* v;
    float* attn;
    float* act;
    float* partials;
    unsigned int* barrier;
    const float* cos_t;
    const float* sin_t;
    int layer_count, hidden, heads, kv_heads, dim, half, inter, capacity, max_chunks, norm_type, bias_type, act_fn;
    float eps, scale;
    int split_qkv, split_o, split_gate_up, split_down;
};

__device__ __forceinline__ unsigned int load_acquire(const unsigned int* p) {
    unsigned int v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ unsigned long long load_acquire64(const unsigned long long* p) {
    unsigned long long v;
    asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ unsigned int load_relaxed(const unsigned int* p) {
    unsigned int v;
    asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

// atomicAdd(p, 1) with release semantics (the block's writes, ordered before it by __syncthreads, are
// visible to whoever acquires the new count); returns the count before.
__device__ __forceinline__ unsigned long long arrive_release(unsigned long long* p) {
    unsigned long long old;
    asm volatile("atom.add.release.gpu.global.u64 %0, [%1], 1;" : "=l"(old) : "l"(p) : "memory");
    return old;
}

// *p += 1 with release semantics, without the round trip for the old value.
__device__ __forceinline__ void count_release(unsigned int* p) {
    asm volatile("red.add.release.gpu.global.u32 [%0], 1;" ::"l"(p) : "memory");
}

// arrive_release without the round trip for the old count.
__device__ __forceinline__ void arrive_release_blind(unsigned long long* p) {
    asm volatile("red.add.release.gpu.global.u64 [%0], 1;" ::"l"(p) : "memory");
}

__device__ __forceinline__ unsigned long long global_nanoseconds() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// Waits (thread 0) until the 64-bit arrival count reaches target or the launch is aborted; a wait
// longer than PD_BARRIER_TIMEOUT_NS aborts it.
__device__ void wait_arrivals(unsigned int* state, unsigned long long target) {
    const unsigned long long* arrivals = reinterpret_cast<const unsigned long long*>(state);
    unsigned long long start = global_nanoseconds();
    while (load_acquire64(arrivals) < target && load_relaxed(state + 2) == 0u) {
        if (global_nanoseconds() - start > PD_BARRIER_TIMEOUT_NS) atomicExch(state + 2, 1u);
    }
}

// Every block of the grid arrives before any leaves; writes before it are visible after it.
// The state's first 8 bytes count arrivals, monotonically over every barrier of every launch: a block
// arrives with one release add and waits until the count reaches its barrier's target (a multiple of
// the grid), which it learns from the count its first arrival of the launch returned and then steps by
// the grid (pd_barrier_target, which decode_layers zeroes before the first barrier; in shared memory
// rather than a register live across every phase). No block resets anything, so
// the state stays valid across launches and graph replays (the count ends each complete launch at a
// multiple of the grid; 64 bits do not wrap).
// Returns true (to every thread) when the launch was aborted: a block that waited longer than
// PD_BARRIER_TIMEOUT_NS (the grid was not co-resident, which CudaPersistentDecode rules out, or a
// fault) sets state[2], and every block then leaves the kernel at its next barrier instead of
// hanging the stream; the step's outputs are then wrong and the flag stays set.
// With times (the _timed kernels; nullptr elsewhere, which compiles to the untimed barrier) it
// stores the block's arrival (every thread done with the phase) and release (the target count seen)
// %globaltimer in times[0] and times[1].
__shared__ unsigned long long pd_barrier_target;

__device__ bool grid_barrier(unsigned int* state, unsigned long long* times) {
    __shared__ int aborted;
    __syncthreads();
    if (threadIdx.x == 0) {
        if (times != nullptr) times[0] = global_nanoseconds();
        unsigned long long* arrivals = reinterpret_cast<unsigned long long*>(state);
        unsigned long long target = pd_barrier_target;
        if (target == 0ull) {
            target = (arrive_release(arrivals) / gridDim.x + 1) * gridDim.x;
        } else {
            target += gridDim.x;
            arrive_release_blind(arrivals);
        }
        pd_barrier_target = target;
        wait_arrivals(state, target);
        if (times != nullptr) times[1] = global_nanoseconds();
        aborted = load_acquire(state + 2) != 0u;
    }
    __syncthreads();
    return aborted;
}

__device__ __forceinline__ void prefetch_l2(const void* p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(p)));
}

// Asks L2 for the rows of a packed [n, row_bytes] weight that this block's groups of rows_per_group
// rows will read; the groups are numbered from first_group on in a grid-stride walk over `groups` in all.
__device__ void prefetch_block_rows(const void* w, int n, long long row_bytes, int rows_per_group, int first_group,
                                    int groups) {
    if (w == nullptr) return;
    const char* base = static_cast<const char*>(w);
    for (int g = blockIdx.x; g < groups; g += gridDim.x) {
        int local = g - first_group;
        if (local < 0) continue;
        long long from = (long long)local * rows_per_group * row_bytes;
        long long to = (long long)min((local + 1) * rows_per_group, n) * row_bytes;
        for (long long at = from + (long long)threadIdx.x * PD_LINE; at < to; at += (long long)PD_THREADS * PD_LINE) {
            prefetch_l2(base + at);
        }
    }
}

__device__ __forceinline__ int gemv_groups(int n, int rows_per_warp, int split) {
    int per = rows_per_warp * (PD_WARPS / split);
    return (n + per - 1) / per;
}

// xs = x (k floats written earlier in this launch), read past L1.
__device__ void stage_plain(const float* x, int k, float* xs) {
    __syncthreads();
    for (int i = threadIdx.x; i < k / 4; i += PD_THREADS) {
        reinterpret_cast<float4*>(xs)[i] = __ldcg(reinterpret_cast<const float4*>(x) + i);
    }
    __syncthreads();
}

// xs = RMSNorm(x) * gamma (k floats, F32 math). gamma is read into gs (k floats of shared memory
// after xs) in the pass that reads x, so both loads are in flight together.
__device__ void stage_normed(const float* x, const void* gamma, int gamma_type, float eps, int k, float* xs) {
    __shared__ float scratch[32];
    float* gs = xs + k;
    __syncthreads();
    float q = 0.f;
    for (int i = threadIdx.x; i < k / 4; i += PD_THREADS) {
        float4 a = __ldcg(reinterpret_cast<const float4*>(x) + i);
        float4 g = make_float4(load_float(gamma, gamma_type, 4 * i), load_float(gamma, gamma_type, 4 * i + 1),
                               load_float(gamma, gamma_type, 4 * i + 2), load_float(gamma, gamma_type, 4 * i + 3));
        reinterpret_cast<float4*>(xs)[i] = a;
        reinterpret_cast<float4*>(gs)[i] = g;
        q += (a.x * a.x + a.y * a.y) + (a.z * a.z + a.w * a.w);
    }
    float total = block_sum(q, scratch);
    float rstd = rsqrtf(total / k + eps);
    for (int i = threadIdx.x; i < k; i += PD_THREADS) xs[i] = xs[i] * rstd * gs[i];
    __syncthreads();
}

// One weight of a multi-weight GEMV phase: [n, k] packed rows, optional bias, F32 output.
struct Target {
    const void* w;
    const void* bias;
    float* out;
    int n;
};

// out_s = W_s xs + b_s for up to three weights sharing xs (k floats in shared memory), the feature
// groups (R rows per warp group) of all weights walked grid-stride in order; residual (if any) is added
// to the single weight's output. Every R streams PD_U 16-byte chunks per lane and step, so a row's sums
// do not depend on R.
template <typename H, int R>
__device__ void gemv_phase(const float* xs, const Target (&t)[3], int targets, int k, int bias_type, const float* residual,
                           int split) {
    __shared__ float partial[PD_WARPS][R][1];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int slots = PD_WARPS / split;
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    int end0 = gemv_groups(t[0].n, R, split);
    int end1 = end0 + (targets > 1 ? gemv_groups(t[1].n, R, split) : 0);
    int total = end1 + (targets > 2 ? gemv_groups(t[2].n, R, split) : 0);
    for (int g = blockIdx.x; g < total; g += gridDim.x) {
        Target at = t[0];
        int local = g;
        if (g >= end1) {
            at = t[2];
            local = g - end1;
        } else if (g >= end0) {
            at = t[1];
            local = g - end0;
        }
        const H* w = static_cast<const H*>(at.w);
        int j0 = (local * slots + group) * R;
        const uint4* wr[R];
#pragma unroll
        for (int q = 0; q < R; q++) wr[q] = reinterpret_cast<const uint4*>(w + (long long)min(j0 + q, at.n - 1) * k);
        // The row's bias and residual, loaded before the weights so that their round trip overlaps the
        // sums (with PD_R rows per warp group; one-row groups, the _wide kernels' q/k/v and o_proj, load
        // them after, which keeps those kernels free of spills).
        bool finishes = part == 0 && lane < R && j0 + lane < at.n;
        float bias = 0.f, res = 0.f;
        if constexpr (R == PD_R) {
            if (finishes && at.bias != nullptr) bias = load_float(at.bias, bias_type, j0 + lane);
            if (finishes && residual != nullptr) res = __ldcg(residual + j0 + lane);
        }
        float acc[R][1];
        gemv_core_group<H, R, true, 1, PD_U>(reinterpret_cast<const float4*>(xs), wr, j0 < at.n, 1, chunks, part, split,
                                                lane, acc);
        gemv_core_publish<R, 1>(acc, partial, 1, warp, lane);
        if (finishes) {
            float sum = gemv_core_total<R, 1>(partial, warp, split, lane, 0);
            if constexpr (R != PD_R) {
                if (at.bias != nullptr) bias = load_float(at.bias, bias_type, j0 + lane);
                if (residual != nullptr) res = __ldcg(residual + j0 + lane);
            }
            if (at.bias != nullptr) sum += bias;
            if (residual != nullptr) sum += res;
            at.out[j0 + lane] = sum;
        }
        __syncthreads();
    }
}

// act[j] = act_fn(gate_j . xs + bg_j) * (up_j . xs + bu_j), PD_PAIRS features per warp group.
template <typename H>
__device__ void gated_phase(const float* xs, const LayerTable& L, const DecodeParams& p) {
    __shared__ float partial[PD_WARPS][PD_R][1];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int split = p.split_gate_up;
    int slots = PD_WARPS / split;
    int group = warp / split;
    int part = warp - group * split;
    int k = p.hidden, n = p.inter;
    int chunks = k >> 3;
    int groups = gemv_groups(n, PD_PAIRS, split);
    const H* wg = static_cast<const H*>(L.wgate);
    const H* wu = static_cast<const H*>(L.wup);
    for (int g = blockIdx.x; g < groups; g += gridDim.x) {
        int j0 = (g * slots + group) * PD_PAIRS;
        const uint4* wr[PD_R];
#pragma unroll
        for (int q = 0; q < PD_PAIRS; q++) {
            long long row = (long long)min(j0 + q, n - 1) * k;
            wr[q] = reinterpret_cast<const uint4*>(wg + row);
            wr[PD_PAIRS + q] = reinterpret_cast<const uint4*>(wu + row);
        }
        float acc[PD_R][1];
        gemv_core_group<H, PD_R, true, 1>(reinterpret_cast<const float4*>(xs), wr, j0 < n, 1, chunks, part, split, lane,
                                          acc);
        gemv_core_publish<PD_R, 1>(acc, partial, 1, warp, lane);
        if (part == 0 && lane < PD_PAIRS) {
            int j = j0 + lane;
            if (j < n) {
                float gate = gemv_core_total<PD_R, 1>(partial, warp, split, lane, 0)
                           + (L.bgate == nullptr ? 0.f : load_float(L.bgate, p.bias_type, j));
                float up = gemv_core_total<PD_R, 1>(partial, warp, split, PD_PAIRS + lane, 0)
                         + (L.bup == nullptr ? 0.f : load_float(L.bup, p.bias_type, j));
                p.act[j] = activate(p.act_fn, gate) * up;
            }
        }
        __syncthreads();
    }
}

template <typename T>
__device__ __forceinline__ float kv_rounded(float x) {
    if constexpr (std::is_same_v<T, float>) {
        return x;
    } else if constexpr (std::is_same_v<T, __half>) {
        return __half2float(__float2half_rn(x));
    } else {
        return __bfloat162float(__float2bfloat16_rn(x));
    }
}

// Four cache entries widened to F32 (T: float, __half or __nv_bfloat16; 4-element aligned).
template <typename T>
__device__ __forceinline__ float4 load_kv4(const T* p) {
    if constexpr (std::is_same_v<T, float>) {
        return *reinterpret_cast<const float4*>(p);
    } else {
        uint2 raw = *reinterpret_cast<const uint2*>(p);
        const T* h = reinterpret_cast<const T*>(&raw);
        return make_float4(widen<T>(h[0]), widen<T>(h[1]), widen<T>(h[2]), widen<T>(h[3]));
    }
}

// Element d of the rotate-half RoPE (rope_f32) of row src (dim elements written in this launch,
// half rotated pairs, tables cos/sin).
__device__ __forceinline__ float rotated(const float* src, int d, int half, const float* cos_t, const float* sin_t) {
    if (d < half) return __ldcg(src + d) * cos_t[d] - __ldcg(src + d + half) * sin_t[d];
    if (d < 2 * half) return __ldcg(src + d) * cos_t[d - half] + __ldcg(src + d - half) * sin_t[d - half];
    return __ldcg(src + d);
}

__device__ __forceinline__ int attention_chunks(int keys) { return (keys + PD_CHUNK - 1) / PD_CHUNK; }

// Asks L2 for the KV rows of this block's attention items (keys already in the cache).
template <typename T>
__device__ void prefetch_kv(const LayerTable& L, const DecodeParams& p) {
    int keys = *L.key_count;
    int chunks = attention_chunks(keys);
    long long row_bytes = (long long)p.dim * sizeof(T);
    for (int item = blockIdx.x; item < p.kv_heads * chunks; item += gridDim.x) {
        int kvh = item / chunks, c0 = (item - kvh * chunks) * PD_CHUNK;
        int n = min(PD_CHUNK, keys - c0);
        long long from = ((long long)kvh * p.capacity + c0) * row_bytes;
        for (long long at = (long long)threadIdx.x * PD_LINE; at < n * row_bytes; at += (long long)PD_THREADS * PD_LINE) {
            prefetch_l2(static_cast<const char*>(L.key_cache) + from + at);
            prefetch_l2(static_cast<const char*>(L.value_cache) + from + at);
        }
    }
}

// The attention partials: the chunks' unnormalised P V sums [heads, max_chunks, dim] (16-byte aligned
// rows), then their (max score, sum of exp(score - max)) pairs [heads, max_chunks, 2].
__device__ __forceinline__ float* partial_sums(const DecodeParams& p, int h, int c) {
    return p.partials + ((long long)h * p.max_chunks + c) * p.dim;
}

__device__ __forceinline__ float* partial_stats(const DecodeParams& p, int h, int c) {
    return p.partials + (long long)p.heads * p.max_chunks * p.dim + ((long long)h * p.max_chunks + c) * 2;
}

// Floats of shared memory before merge_head's per-set sums, for `chunks` chunks
// (CudaPersistentDecode#sharedBytes mirrors it for max_chunks).
__device__ __forceinline__ int merge_stats_floats(int chunks) {
    return (2 * chunks + 1 + 3) & ~3;
}

// attn[h, d] = sum_c e^(m_c - M) o_c[d] / sum_c e^(m_c - M) l_c over the chunks, for query head h,
// by the whole block: the (m, l) pairs into shared memory (one load per pair, all in flight), warp 0
// turns them into the weights e^(m_c - M) and the denominator, then each thread sums one 4-column quad
// over one of `sets` interleaved chunk subsets (c = s, s + sets, ...; PD_MERGE_LOADS float4 loads in
// flight) and the subsets' sums are added in subset order. The order depends only on the shapes,
// never on which block merges.
#define PD_MERGE_LOADS 4
__device__ void merge_head(const DecodeParams& p, int chunks, int h, float* smem) {
    const int quads = p.dim / 4;
    const int sets = PD_THREADS / quads;
    float* weight = smem;                 // [chunks]: m, then e^(m - M)
    float* sums = weight + chunks;        // [chunks]: l
    float* total = sums + chunks;         // sum_c e^(m_c - M) l_c
    float4* set_sums = reinterpret_cast<float4*>(smem + merge_stats_floats(chunks));   // [sets][quads]
    int lane = threadIdx.x & 31;
    __syncthreads();   // smem is no longer read by the block's previous work
    for (int c = threadIdx.x; c < chunks; c += PD_THREADS) {
        float2 ml = __ldcg(reinterpret_cast<const float2*>(partial_stats(p, h, c)));
        weight[c] = ml.x;
        sums[c] = ml.y;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
        float m = -INFINITY;
        for (int c = lane; c < chunks; c += 32) m = fmaxf(m, weight[c]);
        m = warp_max(m);
        float t = 0.f;
        for (int c = lane; c < chunks; c += 32) {
            float e = __expf(weight[c] - m);
            weight[c] = e;
            t += e * sums[c];
        }
        t = warp_sum(t);
        if (lane == 0) *total = t;
    }
    __syncthreads();
    {
        int s = threadIdx.x / quads, q = threadIdx.x - s * quads;
        const float4* o = reinterpret_cast<const float4*>(partial_sums(p, h, 0)) + q;
        float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
        for (int c0 = s; c0 < chunks; c0 += sets * PD_MERGE_LOADS) {
            float4 v[PD_MERGE_LOADS];
#pragma unroll
            for (int u = 0; u < PD_MERGE_LOADS; u++) {
                int c = c0 + u * sets;
                v[u] = c < chunks ? __ldcg(o + (long long)c * quads) : make_float4(0.f, 0.f, 0.f, 0.f);
            }
#pragma unroll
            for (int u = 0; u < PD_MERGE_LOADS; u++) {
                int c = c0 + u * sets;
                if (c < chunks) {
                    float e = weight[c];
                    acc.x += e * v[u].x;
                    acc.y += e * v[u].y;
                    acc.z += e * v[u].z;
                    acc.w += e * v[u].w;
                }
            }
        }
        set_sums[threadIdx.x] = acc;
    }
    __syncthreads();
    if (threadIdx.x < quads) {
        float4 o = set_sums[threadIdx.x];
        for (int s = 1; s < sets; s++) {
            float4 v = set_sums[s * quads + threadIdx.x];
            o.x += v.x;
            o.y += v.y;
            o.z += v.z;
            o.w += v.w;
        }
        float l = *total;
        reinterpret_cast<float4*>(p.attn + (long long)h * p.dim)[threadIdx.x] = make_float4(o.x / l, o.y / l, o.z / l, o.w / l);
    }
}

// Waits (thread 0, then the block) until kv head kvh's finished-chunk counter (barrier state
// [3 + kvh]) reaches chunks or the launch is aborted; a wait longer than PD_BARRIER_TIMEOUT_NS aborts
// it (the phase's outputs are then wrong and the next grid barrier leaves the kernel).
__device__ void wait_head_chunks(unsigned int* state, int kvh, int chunks) {
    if (threadIdx.x == 0) {
        unsigned long long start = global_nanoseconds();
        while (load_acquire(state + 3 + kvh) < (unsigned int)chunks && load_relaxed(state + 2) == 0u) {
            if (global_nanoseconds() - start > PD_BARRIER_TIMEOUT_NS) atomicExch(state + 2, 1u);
        }
    }
    __syncthreads();
}

#define PD_STAGE_LOADS 4   // float4 of K and of V per thread in flight while a chunk is staged

// qs = the rotated (RoPE) query heads first .. first + count - 1 ([count, dim] floats of shared
// memory), two elements per thread and pass with both elements' loads issued before either store.
__device__ void stage_queries(const DecodeParams& p, int first, int count, float* qs) {
    const int dim = p.dim;
    for (int e0 = 0; e0 < count * dim; e0 += 2 * PD_THREADS) {
        float qr[2];
#pragma unroll
        for (int u = 0; u < 2; u++) {
            int e = e0 + u * PD_THREADS + threadIdx.x;
            int r = e / dim;
            if (e < count * dim) qr[u] = rotated(p.q + (long long)(first + r) * dim, e - r * dim, p.half, p.cos_t, p.sin_t);
        }
#pragma unroll
        for (int u = 0; u < 2; u++) {
            int e = e0 + u * PD_THREADS + threadIdx.x;
            if (e < count * dim) qs[e] = qr[u];
        }
    }
}

// Phase 2: per (kv head, chunk) item, every query head of the group: the chunk's max score, sum of
// exp(score - max) and sum of exp(score - max) v, into the partials (partial_sums, partial_stats).
// A block stages the chunk's K and V rows and the group's rotated queries with every load of a pass
// issued before any store. Each finished item counts itself in the kv head's counter (barrier state
// [3 + kv head], a release add). Once a block has done all its items, the block merging query head h
// (one block per head, from the end of the grid) waits for its kv head's count to reach the chunks
// and merges the head's chunks into attn (merge_head: a fixed order, so the result does not depend on
// which block merges), so every head is merged at once. Waiting only after its own items are
// counted, no block can wait on itself or on a block that waits.
// Block 0 resets the counters in the o_proj phase (decode_layers), after the barrier that ends this
// phase and before the next layer's.
template <typename T>
__device__ void attention_phase(const LayerTable& L, const DecodeParams& p, float* smem) {
    const int dim = p.dim, ks_stride = dim + 4;
    const int group = p.heads / p.kv_heads;
    const int at = *L.length;
    const int keys = *L.key_count;
    const int chunks = attention_chunks(keys);
    float* ks = smem;                                  // [PD_CHUNK, dim + 4]
    float* vs = ks + PD_CHUNK * ks_stride;             // [PD_CHUNK, dim]
    float* qs = vs + PD_CHUNK * dim;                   // [group, dim]
    float* ps = qs + group * dim;                      // [PD_WARPS, PD_CHUNK]
    const T* key_cache = static_cast<const T*>(L.key_cache);
    T* key_out = static_cast<T*>(L.key_cache);
    T* value_out = static_cast<T*>(L.value_cache);
    const T* value_cache = static_cast<const T*>(L.value_cache);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int quads = dim / 4;
    for (int item = blockIdx.x; item < p.kv_heads * chunks; item += gridDim.x) {
        int kvh = item / chunks, c = item - kvh * chunks, c0 = c * PD_CHUNK;
        int n = min(PD_CHUNK, keys - c0);
        __syncthreads();   // the previous item's rows are no longer read
        long long head_row = (long long)kvh * p.capacity;
        for (int e0 = 0; e0 < n * quads; e0 += PD_STAGE_LOADS * PD_THREADS) {
            float4 kq[PD_STAGE_LOADS], vq[PD_STAGE_LOADS];
#pragma unroll
            for (int u = 0; u < PD_STAGE_LOADS; u++) {
                int e = e0 + u * PD_THREADS + threadIdx.x;
                int j = e / quads;
                if (e < n * quads && c0 + j != at) {
                    long long src = (head_row + c0 + j) * dim + (e - j * quads) * 4;
                    kq[u] = load_kv4<T>(key_cache + src);
                    vq[u] = load_kv4<T>(value_cache + src);
                }
            }
            if (e0 == 0) stage_queries(p, kvh * group, group, qs);   // its loads overlap the first pass's
#pragma unroll
            for (int u = 0; u < PD_STAGE_LOADS; u++) {
                int e = e0 + u * PD_THREADS + threadIdx.x;
                int j = e / quads, d = (e - j * quads) * 4;
                if (e < n * quads && c0 + j != at) {
                    *reinterpret_cast<float4*>(ks + j * ks_stride + d) = kq[u];
                    *reinterpret_cast<float4*>(vs + j * dim + d) = vq[u];
                }
            }
        }
        if (at >= c0 && at < c0 + n) {
            long long dst = (head_row + at) * dim;
            const float* k_new = p.k + (long long)kvh * dim;
            const float* v_new = p.v + (long long)kvh * dim;
            for (int d = threadIdx.x; d < dim; d += PD_THREADS) {
                float kr = rotated(k_new, d, p.half, p.cos_t, p.sin_t);
                float vr = __ldcg(v_new + d);
                store_kv(key_out + dst + d, kr);
                store_kv(value_out + dst + d, vr);
                ks[(at - c0) * ks_stride + d] = kv_rounded<T>(kr);
                vs[(at - c0) * dim + d] = kv_rounded<T>(vr);
            }
        }
        __syncthreads();
        for (int r = warp; r < group; r += PD_WARPS) {
            const float* qr = qs + r * dim;
            float s[PD_CHUNK / 32];
            float m = -INFINITY;
#pragma unroll
            for (int u = 0; u < PD_CHUNK / 32; u++) {
                int j = lane + u * 32;
                float dot = 0.f;
                if (j < n) {
                    const float* kr = ks + j * ks_stride;
                    for (int d = 0; d < dim; d += 4) {
                        float4 a = *reinterpret_cast<const float4*>(kr + d);
                        float4 b = *reinterpret_cast<const float4*>(qr + d);
                        dot += (a.x * b.x + a.y * b.y) + (a.z * b.z + a.w * b.w);
                    }
                    s[u] = dot * p.scale;
                    m = fmaxf(m, s[u]);
                } else {
                    s[u] = -INFINITY;
                }
            }
            m = warp_max(m);
            float l = 0.f;
            float* pw = ps + warp * PD_CHUNK;
#pragma unroll
            for (int u = 0; u < PD_CHUNK / 32; u++) {
                int j = lane + u * 32;
                float e = j < n ? __expf(s[u] - m) : 0.f;
                pw[j] = e;
                l += e;
            }
            l = warp_sum(l);
            __syncwarp();
            float* out = partial_sums(p, kvh * group + r, c);
            for (int d = lane; d < dim; d += 32) {
                float o = 0.f;
                for (int j = 0; j < n; j++) o += pw[j] * vs[j * dim + d];
                out[d] = o;
            }
            if (lane == 0) *reinterpret_cast<float2*>(partial_stats(p, kvh * group + r, c)) = make_float2(m, l);
            __syncwarp();
        }
        __syncthreads();   // every warp's partials are written
        if (threadIdx.x == 0) count_release(p.barrier + 3 + kvh);
    }
    // The merges, after every item of this block (so no block waits before its own items are counted):
    // query head h is merged by block gridDim.x - 1 - h, from the end of the grid, where the blocks
    // without items are (items are taken from block 0 on).
    for (int h = gridDim.x - 1 - blockIdx.x; h < p.heads; h += gridDim.x) {
        wait_head_chunks(p.barrier, h / group, chunks);
        merge_head(p, chunks, h, smem);
    }
}

// The phase timer record of (layer, phase) for this block: [arrival, release] at the phase's closing
// barrier, after the blocks' start times (timers layout: CudaPersistentDecode#TIMER_PHASES).
template <bool TIMED>
__device__ __forceinline__ unsigned long long* phase_times(unsigned long long* timers, int layer, int phase) {
    if constexpr (TIMED) {
        return timers + gridDim.x + ((long long)(layer * PD_PHASES + phase) * gridDim.x + blockIdx.x) * 2;
    } else {
        return nullptr;
    }
}

// TIMED: timers holds [blocks] start times then [layers][PD_PHASES][blocks][arrival, release] (u64 ns).
// PR: weight rows per warp group of q/k/v and o_proj (PD_R; 1 in the _wide kernels, so that those
// phases have four times the row groups and every block streams a share).
template <typename H, typename T, bool TIMED, int PR>
__device__ void decode_layers(const DecodeParams& p, unsigned long long* timers) {
    extern __shared__ float4 pd_smem4[];
    float* smem = reinterpret_cast<float*>(pd_smem4);
    const long long hidden_bytes = (long long)p.hidden * sizeof(H);
    const int qkv_rows = PR * (PD_WARPS / p.split_qkv);
    const int q_rows = p.heads * p.dim, kv_rows = p.kv_heads * p.dim;
    if (threadIdx.x == 0) pd_barrier_target = 0ull;   // ordered before grid_barrier's reads by its __syncthreads
    if constexpr (TIMED) {
        if (threadIdx.x == 0) timers[blockIdx.x] = global_nanoseconds();
    }
    for (int layer = 0; layer < p.layer_count; layer++) {
        const LayerTable& L = p.layers[layer];
        stage_normed(p.x, L.input_norm, p.norm_type, p.eps, p.hidden, smem);
        const Target qkv[3] = {{L.wq, L.bq, p.q, q_rows}, {L.wk, L.bk, p.k, kv_rows}, {L.wv, L.bv, p.v, kv_rows}};
        gemv_phase<H, PR>(smem, qkv, 3, p.hidden, p.bias_type, nullptr, p.split_qkv);
        prefetch_kv<T>(L, p);
        if (grid_barrier(p.barrier, phase_times<TIMED>(timers, layer, 0))) return;

        attention_phase<T>(L, p, smem);
        prefetch_block_rows(L.wo, p.hidden, (long long)q_rows * sizeof(H), PR * (PD_WARPS / p.split_o), 0,
                            gemv_groups(p.hidden, PR, p.split_o));
        if (grid_barrier(p.barrier, phase_times<TIMED>(timers, layer, 1))) return;

        if (blockIdx.x == 0) {
            for (int h = threadIdx.x; h < p.kv_heads; h += PD_THREADS) p.barrier[3 + h] = 0u;
        }

        stage_plain(p.attn, q_rows, smem);
        const Target o[3] = {{L.wo, L.bo, p.residual, p.hidden}, {}, {}};
        gemv_phase<H, PR>(smem, o, 1, q_rows, p.bias_type, p.x, p.split_o);
        int gu_rows = PD_PAIRS * (PD_WARPS / p.split_gate_up);
        int gu_groups = gemv_groups(p.inter, PD_PAIRS, p.split_gate_up);
        prefetch_block_rows(L.wgate, p.inter, hidden_bytes, gu_rows, 0, gu_groups);
        prefetch_block_rows(L.wup, p.inter, hidden_bytes, gu_rows, 0, gu_groups);
        if (grid_barrier(p.barrier, phase_times<TIMED>(timers, layer, 2))) return;

        stage_normed(p.residual, L.post_norm, p.norm_type, p.eps, p.hidden, smem);
        gated_phase<H>(smem, L, p);
        prefetch_block_rows(L.wdown, p.hidden, (long long)p.inter * sizeof(H), PD_R * (PD_WARPS / p.split_down), 0,
                            gemv_groups(p.hidden, PD_R, p.split_down));
        if (grid_barrier(p.barrier, phase_times<TIMED>(timers, layer, 3))) return;

        stage_plain(p.act, p.inter, smem);
        const Target down[3] = {{L.wdown, L.bdown, p.x, p.hidden}, {}, {}};
        gemv_phase<H, PD_R>(smem, down, 1, p.inter, p.bias_type, p.residual, p.split_down);
        if (layer + 1 < p.layer_count) {
            const LayerTable& next = p.layers[layer + 1];
            int q_groups = gemv_groups(q_rows, PR, p.split_qkv);
            int k_groups = gemv_groups(kv_rows, PR, p.split_qkv);
            int all = q_groups + 2 * k_groups;
            prefetch_block_rows(next.wq, q_rows, hidden_bytes, qkv_rows, 0, q_groups);
            prefetch_block_rows(next.wk, kv_rows, hidden_bytes, qkv_rows, q_groups, q_groups + k_groups);
            prefetch_block_rows(next.wv, kv_rows, hidden_bytes, qkv_rows, q_groups + k_groups, all);
        }
        if (grid_barrier(p.barrier, phase_times<TIMED>(timers, layer, 4))) return;
    }
}
