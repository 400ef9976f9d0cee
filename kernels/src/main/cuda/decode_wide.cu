// Wide flash-decoding (-Dglimpse.cuda.decodeAttention=wide, WideDecodePlan): one query per head over
// the first *key_count entries of head-major caches [kv_heads, capacity, D] (F32, BF16 or F16; D 64
// or 128), split over about one 256-thread block per SM so that every SM streams a short chunk with
// all of its loads in flight, and merged by the last block of each head group in parallel over
// (head, columns) x splits. Same arguments, workspace layout (acc [q_heads, splits, D], stats
// [q_heads, splits, 2]) and counters as attention_decode_online*; F32 scores, softmax and sums
// (within the CPU tolerance of the other kernels, not their bits).
//
// Why (the online kernels, from their H200 times): each of an online block's 4 warps walks its 32-key
// tiles alone (key loads, scores, softmax, then value loads in two batches of 8 rows: three dependent
// memory round trips and ~1,500 dependent instructions with one warp per scheduler, ~2.5 us a tile),
// only ~50 of 64 blocks have work at 6,300 keys, and the last block walks the splits one after
// another (~0.06 us per split). Here a block takes the keys in tiles of 256 / (D / 16) keys (64 at D
// 64) with all 8 warps: every thread loads its 4 key pieces and 4 value rows of a tile at once (the
// next tile's while it computes the current one), scores are summed over D / 16 lanes per key for
// every head of the group at once (GQA: the group's heads share each K and V load), warp h keeps head
// h's running softmax, and the P V products are spread over (4 columns) x (key subsets).
//
// Every kernel prefetches its chunk into L2 before grid_dependency_enter() (the key count read there
// only to place the prefetch, as decode_online16.cu's _early kernels) and reads nothing else before it.
//
// attention_decode_wide_rope[_bf16|_f16]_d<D>_h<HP> (-Dglimpse.cuda.decodeRopeAttention=true) also do
// rope_append_kv's work (decode_fused.cu), one kernel less per decode layer: every block rotates its
// group's query heads while staging them in shared memory (q itself is left as it was: nothing after
// the attention reads it), and the blocks of the split that covers the step's entry *length (else
// those of split 0: then no block reads it) store the rotated key and the value there, rounded as
// rope_append stores them (store_kv), before a barrier and their first tile load; no other block
// reads that entry (a block reads only its split's rows). Where a group spans several head blocks
// each of them stores the entry (the same bits) before it reads it. The rotation is rope_append's
// (both call rope_pair.cuh, the FMA contraction spelled out), so the cache, the scores and the output
// have the bits of rope_append_kv + attention_decode_wide_*. The tiles are read through const
// __restrict__ pointers although this kernel wrote one entry: a block reads that entry only after its
// own store and a barrier, the prefetch before the wait goes to L2 only, and cache rows are whole
// 128-byte lines, so no SM can hold a line of that entry from before the store.
#include "common.cuh"
#include "grid_dependency.cuh"
#include "decode_common.cuh"
#include "kv_store.cuh"
#include "rope_pair.cuh"

#define WIDE_THREADS 256
#define WIDE_WARPS (WIDE_THREADS / 32)
// At most WIDE_MAX_SPLITS splits (WideDecodePlan).
#define WIDE_MAX_SPLITS 256

// Keys per split: the count spread over the splits, a multiple of the tile (whole tiles per block).
template <int TILE>
__device__ __forceinline__ int wide_chunk(int keys, int splits) {
    const int per = (keys + splits - 1) / splits;
    return max((per + TILE - 1) / TILE * TILE, TILE);
}

__device__ __forceinline__ void wide_prefetch_l2(const void* p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(p)));
}

// The tile layout for head dim D over cache entries T.
template <int D, typename T>
struct WideShape {
    static constexpr int SV = 16 / sizeof(T);             // entries per 16-byte key load
    static constexpr int KL = D / 16;                      // lanes per key row (4 at D 64, 8 at D 128)
    static constexpr int KPL = D / (SV * KL);              // key loads per lane (4 F32, 2 16-bit)
    static constexpr int TILE = WIDE_WARPS * (32 / KL);    // keys per tile (64 at D 64, 32 at D 128)
    static constexpr int CG = D / 4;                       // P V column groups of 4
    static constexpr int KS = WIDE_THREADS / CG;           // P V key subsets
    static constexpr int VPT = TILE / KS;                  // value rows per thread per tile (4)
};

// The fused kernels' rotary rows for the step's position (rotary pairs (i, i + half) for i < half;
// dims from 2 * half on pass through).
struct WideRope {
    const float* cos_t;
    const float* sin_t;
    int half;
};

// What the fused kernels append: the step's k and v rows [kv_heads, D] (F32), stored as entry *length.
template <typename T>
struct WideAppend {
    const float* k;
    const float* v;
    T* key_cache;
    T* value_cache;
    const int* length;
    WideRope rope;
};

// Element d of the head row x rotated as rope_append rotates it.
__device__ __forceinline__ float wide_rope_at(const float* x, int d, const WideRope& r) {
    if (d < r.half) return rope_pair_lo(x[d], x[d + r.half], r.cos_t[d], r.sin_t[d]);
    if (d < 2 * r.half) {
        const int i = d - r.half;
        return rope_pair_hi(x[i], x[d], r.cos_t[i], r.sin_t[i]);
    }
    return x[d];
}

// kv head kv's rotated key and value stored as cache entry at, as rope_append stores them.
template <int D, typename T>
__device__ __forceinline__ void wide_store_entry(const WideAppend<T>& a, int kv, int capacity, int at) {
    const float* k = a.k + (long long)kv * D;
    const float* v = a.v + (long long)kv * D;
    T* kd = a.key_cache + ((long long)kv * capacity + at) * D;
    T* vd = a.value_cache + ((long long)kv * capacity + at) * D;
    for (int d = threadIdx.x; d < D; d += WIDE_THREADS) {
        store_kv(kd + d, wide_rope_at(k, d, a.rope));
        store_kv(vd + d, v[d]);
    }
}

// One tile's cache entries as a thread holds them: its key pieces and its value rows.
template <int D, typename T>
struct WideTile {
    using S = WideShape<D, T>;
    KvVec<S::SV, T> k[S::KPL];
    KvVec<4, T> v[S::VPT];

    // Loads rows of the tile at t0 (relative to kb / vb), zeros past n.
    __device__ __forceinline__ void load(const T* __restrict__ kb, const T* __restrict__ vb, int t0, int n) {
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        const int krow = t0 + warp * (32 / S::KL) + lane / S::KL, c = lane % S::KL;
#pragma unroll
        for (int j = 0; j < S::KPL; j++) {
            k[j].zero();
            if (krow < n) k[j].load(kb + (long long)krow * D + (c + S::KL * j) * S::SV);
        }
        const int cg = threadIdx.x % S::CG, ks = threadIdx.x / S::CG;
#pragma unroll
        for (int u = 0; u < S::VPT; u++) {
            const int row = t0 + ks + u * S::KS;
            v[u].zero();
            if (row < n) v[u].load(vb + (long long)row * D + cg * 4);
        }
    }
};

// The split's (m, l, unnormalised P V) of heads h0 .. h0 + nh - 1 over keys start .. start + n - 1,
// written to the partials. HP: the group's heads padded to a power of two (<= WIDE_WARPS). ROPE: q
// rotated by rope on its way into shared memory.
template <int D, int HP, typename T, bool ROPE = false>
__device__ __forceinline__ void wide_split(const float* __restrict__ q, const T* __restrict__ key_cache,
                                           const T* __restrict__ value_cache, float* __restrict__ partial_acc,
                                           float* __restrict__ partial_stats, int kv, int h0, int nh, int start,
                                           int n, int capacity, int splits, float scale, float* red,
                                           const WideRope& rope = WideRope()) {
    using S = WideShape<D, T>;
    __shared__ __align__(16) float qs[HP][D];
    __shared__ float sp[2][HP][S::TILE];
    __shared__ float alpha[2][HP];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const T* kb = key_cache + ((long long)kv * capacity + start) * D;
    const T* vb = value_cache + ((long long)kv * capacity + start) * D;

    WideTile<D, T> cur, next;
    cur.load(kb, vb, 0, n);
    for (int i = threadIdx.x; i < HP * D; i += WIDE_THREADS) {
        const int h = i / D;
        if constexpr (ROPE) {
            qs[h][i % D] = h < nh ? wide_rope_at(q + (long long)(h0 + h) * D, i % D, rope) : 0.f;
        } else {
            qs[h][i % D] = h < nh ? q[(long long)(h0 + h) * D + i % D] : 0.f;
        }
    }
    __syncthreads();

    const int c = lane % S::KL, key = warp * (32 / S::KL) + lane / S::KL;
    const int cg = threadIdx.x % S::CG, ks = threadIdx.x / S::CG;
    float m = -INFINITY, l = 0.f;  // warp h's running max and sum of head h
    float acc[HP][4];
#pragma unroll
    for (int h = 0; h < HP; h++) {
#pragma unroll
        for (int i = 0; i < 4; i++) acc[h][i] = 0.f;
    }
    int b = 0;
    for (int t0 = 0; t0 < n; t0 += S::TILE, b ^= 1) {
        if (t0 + S::TILE < n) next.load(kb, vb, t0 + S::TILE, n);
        // Scores: this lane's pieces of its key row with every head, summed over the row's KL lanes.
        float dot[HP];
#pragma unroll
        for (int h = 0; h < HP; h++) {
            float s = 0.f;
#pragma unroll
            for (int j = 0; j < S::KPL; j++) {
                const float* qp = &qs[h][(c + S::KL * j) * S::SV];
#pragma unroll
                for (int i = 0; i < S::SV; i += 4) {
                    const float4 qv = *reinterpret_cast<const float4*>(qp + i);
                    s += qv.x * cur.k[j][i] + qv.y * cur.k[j][i + 1] + qv.z * cur.k[j][i + 2] + qv.w * cur.k[j][i + 3];
                }
            }
            dot[h] = s;
        }
#pragma unroll
        for (int o = 1; o < S::KL; o <<= 1) {
#pragma unroll
            for (int h = 0; h < HP; h++) dot[h] += __shfl_xor_sync(0xffffffffu, dot[h], o);
        }
#pragma unroll
        for (int h = 0; h < HP; h++) {
            if (h % S::KL == c) sp[b][h][key] = t0 + key < n ? dot[h] * scale : -INFINITY;
        }
        __syncthreads();
        // Softmax: warp h rescales head h's running sums and turns its scores into p.
        if (warp < HP) {
            float tmax = -INFINITY;
            for (int j = lane; j < S::TILE; j += 32) tmax = fmaxf(tmax, sp[b][warp][j]);
            tmax = warp_max(tmax);
            const float mnew = fmaxf(m, tmax);
            float psum = 0.f;
            for (int j = lane; j < S::TILE; j += 32) {
                const float p = expf(sp[b][warp][j] - mnew);
                sp[b][warp][j] = p;
                psum += p;
            }
            psum = warp_sum(psum);
            const float a = expf(m - mnew);
            l = l * a + psum;
            m = mnew;
            if (lane == 0) alpha[b][warp] = a;
        }
        __syncthreads();
        // P V: this thread's 4 columns of every head over its value rows ks, ks + KS, ...
#pragma unroll
        for (int h = 0; h < HP; h++) {
            const float a = alpha[b][h];
#pragma unroll
            for (int i = 0; i < 4; i++) acc[h][i] *= a;
        }
#pragma unroll
        for (int u = 0; u < S::VPT; u++) {
            const int row = ks + u * S::KS;
#pragma unroll
            for (int h = 0; h < HP; h++) {
                const float p = sp[b][h][row];
#pragma unroll
                for (int i = 0; i < 4; i++) acc[h][i] += p * cur.v[u][i];
            }
        }
        cur = next;
    }

    // The key subsets' P V summed in order (red: [KS][HP][D]), then the split's partials.
#pragma unroll
    for (int h = 0; h < HP; h++) {
        *reinterpret_cast<float4*>(red + (ks * HP + h) * D + cg * 4) = make_float4(acc[h][0], acc[h][1], acc[h][2], acc[h][3]);
    }
    __syncthreads();
    for (int o = threadIdx.x; o < nh * D; o += WIDE_THREADS) {
        const int h = o / D, d = o % D;
        float sum = 0.f;
#pragma unroll
        for (int s = 0; s < S::KS; s++) sum += red[(s * HP + h) * D + d];
        partial_acc[((long long)(h0 + h) * splits + blockIdx.y) * D + d] = sum;
    }
    if (warp < nh && lane == 0) {
        float* st = partial_stats + ((long long)(h0 + warp) * splits + blockIdx.y) * 2;
        st[0] = m;
        st[1] = l;
    }
}

// Splits 0 .. used - 1 of heads h0 .. h0 + nh - 1 merged into out [q_heads, D] by the last block: warp h
// takes head h's max M and l = sum of sum_s * exp(max_s - M) (lanes over splits 32 apart, then a
// butterfly) and keeps the weights exp(max_s - M); then thread (group g, item) sums weight_s * acc_s
// over the splits s = g, g + G, ... (G = WIDE_THREADS / (HP * D / 4) groups, item = head x 4 columns),
// and the groups' sums are added in order and scaled by 1 / l. Every output depends on used and the
// partials only, not on which block merges. Partials are read through L2 (__ldcg).
template <int D, int HP>
__device__ __noinline__ void wide_merge(const float* __restrict__ partial_acc, const float* __restrict__ partial_stats,
                                        float* __restrict__ out, int h0, int nh, int used, int splits, float* red) {
    constexpr int ITEMS = HP * D / 4;
    constexpr int G = WIDE_THREADS / ITEMS > 0 ? WIDE_THREADS / ITEMS : 1;
    __shared__ float weight[HP][WIDE_MAX_SPLITS];
    __shared__ float inv[HP];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (warp < nh) {
        const float* st = partial_stats + (long long)(h0 + warp) * splits * 2;
        float mx = -INFINITY;
        for (int s = lane; s < used; s += 32) mx = fmaxf(mx, __ldcg(st + 2 * s));
        mx = warp_max(mx);
        float sum = 0.f;
        for (int s = lane; s < used; s += 32) {
            const float e = expf(__ldcg(st + 2 * s) - mx);
            weight[warp][s] = e;
            sum += __ldcg(st + 2 * s + 1) * e;
        }
        sum = warp_sum(sum);
        if (lane == 0) inv[warp] = 1.f / sum;
    }
    __syncthreads();
    const int item = threadIdx.x % ITEMS, g = threadIdx.x / ITEMS;
    const int h = item / (D / 4), c4 = item % (D / 4);
    float a[4] = {0.f, 0.f, 0.f, 0.f};
    if (g < G && h < nh) {
        const float* acc = partial_acc + (long long)(h0 + h) * splits * D + c4 * 4;
#pragma unroll 16
        for (int s = g; s < used; s += G) {
            const float4 x = __ldcg(reinterpret_cast<const float4*>(acc + (long long)s * D));
            const float e = weight[h][s];
            a[0] += e * x.x;
            a[1] += e * x.y;
            a[2] += e * x.z;
            a[3] += e * x.w;
        }
    }
    if (g < G) {
#pragma unroll
        for (int i = 0; i < 4; i++) red[(g * ITEMS + item) * 4 + i] = a[i];
    }
    __syncthreads();
    if (threadIdx.x < ITEMS && h < nh) {
        float o[4] = {0.f, 0.f, 0.f, 0.f};
        for (int k = 0; k < G; k++) {
#pragma unroll
            for (int i = 0; i < 4; i++) o[i] += red[(k * ITEMS + item) * 4 + i];
        }
        float* dst = out + (long long)(h0 + h) * D + c4 * 4;
#pragma unroll
        for (int i = 0; i < 4; i++) dst[i] = o[i] * inv[h];
    }
}

// The split's chunk prefetched into L2 before the grid dependency wait (the count may be stale there;
// a prefetch never changes what the block reads).
template <int D, typename T>
__device__ __forceinline__ void wide_prefetch_chunk(const T* key_cache, const T* value_cache, const int* key_count,
                                                    int kv, int capacity, int splits) {
    constexpr int LINE = 128 / sizeof(T);
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) return;
    const int chunk = wide_chunk<WideShape<D, T>::TILE>(keys, splits);
    const int start = blockIdx.y * chunk;
    if (start >= keys) return;
    const long long base = ((long long)kv * capacity + start) * D;
    const long long entries = (long long)min(chunk, keys - start) * D;
    for (long long i = (long long)threadIdx.x * LINE; i < entries; i += WIDE_THREADS * LINE) {
        wide_prefetch_l2(key_cache + base + i);
        wide_prefetch_l2(value_cache + base + i);
    }
}

// Grid (kv_heads * head_blocks, splits), WIDE_THREADS threads; heads_per_block <= HP <= WIDE_WARPS,
// splits <= WIDE_MAX_SPLITS, 16-byte aligned q and caches. Counters as attention_decode_fused. ROPE:
// q is the unrotated query, and append's entry is stored first (see the top of this file).
template <int D, int HP, typename T, bool ROPE = false>
__device__ __forceinline__ void wide_fused(const float* q, const T* key_cache, const T* value_cache,
                                           float* partial_acc, float* partial_stats, float* out, int* counters,
                                           const int* key_count, int q_heads, int kv_heads, int capacity, int splits,
                                           int heads_per_block, float scale,
                                           const WideAppend<T>& append = WideAppend<T>()) {
    using S = WideShape<D, T>;
    constexpr int RED_FLOATS = S::KS * HP * D > WIDE_THREADS * 4 ? S::KS * HP * D : WIDE_THREADS * 4;
    __shared__ __align__(16) float red[RED_FLOATS];
    __shared__ int merges;
    const auto [kv, h0, nh] = decode_heads(q_heads, kv_heads, heads_per_block);
    wide_prefetch_chunk<D, T>(key_cache, value_cache, key_count, kv, capacity, splits);
    grid_dependency_enter();
    const int keys = decode_keys(key_count, capacity);
    if constexpr (ROPE) {
        // The split whose rows hold entry at (whole chunks from 0: at / chunk < used), or split 0.
        const int at = *append.length;
        const int chunk = wide_chunk<WideShape<D, T>::TILE>(keys, splits);
        if (blockIdx.y == (at >= 0 && at < keys ? at / chunk : 0)) {
            wide_store_entry<D, T>(append, kv, capacity, at);
            __syncthreads();
        }
    }
    if (keys == 0) {
        decode_zero_heads<WIDE_THREADS>(out, h0, nh, D);
        return;
    }
    const int chunk = wide_chunk<WideShape<D, T>::TILE>(keys, splits);
    const int used = (keys + chunk - 1) / chunk;
    if (blockIdx.y >= used) return;
    const int start = blockIdx.y * chunk;
    wide_split<D, HP, T, ROPE>(q, key_cache, value_cache, partial_acc, partial_stats, kv, h0, nh, start,
                               min(chunk, keys - start), capacity, splits, scale, red, append.rope);
    if (decode_last_split(counters, used, merges))
        wide_merge<D, HP>(partial_acc, partial_stats, out, h0, nh, used, splits, red);
}

// MIN_BLOCKS: 2 (at most 128 registers, so two blocks share an SM: the next kernel's blocks can wait
// beside a running one under PDL) where that needs no spills, 1 for the F32 8-head kernels (157 and 159
// registers; at 128 they spill).
#define DECODE_WIDE_KERNEL(name, D, HP, T, MIN_BLOCKS)                                                           \
    extern "C" __global__ void __launch_bounds__(WIDE_THREADS, MIN_BLOCKS)                                        \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc, float* partial_stats,    \
         float* out, int* counters, const int* key_count, int q_heads, int kv_heads, int capacity, int dim,     \
         int splits, int heads_per_block, float scale) {                                                         \
        wide_fused<D, HP, T>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters, key_count,    \
                             q_heads, kv_heads, capacity, splits, heads_per_block, scale);                       \
    }

DECODE_WIDE_KERNEL(attention_decode_wide_d64_h1, 64, 1, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d64_h2, 64, 2, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d64_h4, 64, 4, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d64_h8, 64, 8, float, 1)
DECODE_WIDE_KERNEL(attention_decode_wide_d128_h1, 128, 1, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d128_h2, 128, 2, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d128_h4, 128, 4, float, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_d128_h8, 128, 8, float, 1)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d64_h1, 64, 1, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d64_h2, 64, 2, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d64_h4, 64, 4, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d64_h8, 64, 8, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d128_h1, 128, 1, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d128_h2, 128, 2, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d128_h4, 128, 4, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_bf16_d128_h8, 128, 8, __nv_bfloat16, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d64_h1, 64, 1, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d64_h2, 64, 2, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d64_h4, 64, 4, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d64_h8, 64, 8, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d128_h1, 128, 1, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d128_h2, 128, 2, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d128_h4, 128, 4, __half, 2)
DECODE_WIDE_KERNEL(attention_decode_wide_f16_d128_h8, 128, 8, __half, 2)

// The fused RoPE + append + attention kernels: rope_append_kv's arguments (q unrotated and left so, k,
// v, cos, sin, length) then the wide kernel's; *key_count includes the appended entry (*length + 1 in
// a decode step). Same MIN_BLOCKS as their wide kernels.
#define DECODE_WIDE_ROPE_KERNEL(NAME, D, HP, T, MIN_BLOCKS)                                                      \
    extern "C" __global__ void __launch_bounds__(WIDE_THREADS, MIN_BLOCKS)                                        \
    NAME(const float* q, const float* k, const float* v, const float* cos_t, const float* sin_t, T* key_cache,   \
         T* value_cache, const int* length, float* partial_acc, float* partial_stats, float* out, int* counters,  \
         const int* key_count, int q_heads, int kv_heads, int capacity, int dim, int half, int splits,           \
         int heads_per_block, float scale) {                                                                     \
        wide_fused<D, HP, T, true>(q, key_cache, value_cache, partial_acc, partial_stats, out, counters,         \
                                   key_count, q_heads, kv_heads, capacity, splits, heads_per_block, scale,       \
                                   WideAppend<T>{k, v, key_cache, value_cache, length, {cos_t, sin_t, half}});   \
    }

DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d64_h1, 64, 1, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d64_h2, 64, 2, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d64_h4, 64, 4, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d64_h8, 64, 8, float, 1)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d128_h1, 128, 1, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d128_h2, 128, 2, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d128_h4, 128, 4, float, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_d128_h8, 128, 8, float, 1)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d64_h1, 64, 1, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d64_h2, 64, 2, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d64_h4, 64, 4, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d64_h8, 64, 8, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d128_h1, 128, 1, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d128_h2, 128, 2, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d128_h4, 128, 4, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_bf16_d128_h8, 128, 8, __nv_bfloat16, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d64_h1, 64, 1, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d64_h2, 64, 2, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d64_h4, 64, 4, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d64_h8, 64, 8, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d128_h1, 128, 1, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d128_h2, 128, 2, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d128_h4, 128, 4, __half, 2)
DECODE_WIDE_ROPE_KERNEL(attention_decode_wide_rope_f16_d128_h8, 128, 8, __half, 2)
