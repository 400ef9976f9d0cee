// A short prefill block's RoPE, KV cache append and causal attention in one launch:
// prefill_rope_attention_<t>_d<64|128>_<shape> does what rows.cu's rope_append_kv_rows_vec_<t> followed by
// attention_mma.cu's attention_mma_cache_<t>_d<D>_<shape>_o16 do, and writes the same bits: the cache entries
// start .. start + T (k rotated, v as is, rounded to nearest even) and o_proj's 16-bit input out [T, Hq, D].
// q, k, v F32 [T, Hq|Hkv, D] packed; cos, sin F32 [T, D / 2] (every dim rotary); caches [Hkv, capacity, D] of the
// pass's 16-bit type; 16-byte aligned (CudaAttention#ropeAppendAttention checks all of it). The grid, the block
// shapes and the attention body are attention_mma_packed's (attention_mma.cuh) with its query tile taken from
// RopeAppendQueries below; q itself is left unrotated (the unfused pair rotates it in place).
//
// Each block, before the body's first barrier:
//   1. rotates and stores the new cache rows its key tiles will read: entries start .. min(keys, 64 * tiles) of its
//      kv head, tiles = the body's key tiles of this block (those up to its last query's visible key), so every
//      new row the body's cp.async copies is one this block wrote (rows past its last query are masked, but their
//      values are multiplied by probability 0 and must be the finite values the unfused pair stores, not stale
//      memory). Rows before `start` come from earlier launches and are only read.
//   2. rotates its queries and rounds them into the query tile, as load_queries rounds the rows the unfused pair
//      rotated in place.
// Every rotation is rope_rotate4 (rope_rows.cuh: rope_append_kv_rows_vec_<t>'s, the same float instructions), every
// store store4_kv / store8_kv / pack2, so the values are the unfused pair's.
//
// Several blocks store the same entries: every query head's blocks of a kv head, and each query block a prefix of
// the new rows. That is benign and needs no designated writer: every store of an entry in a launch carries the same
// bytes (the same instructions on the same inputs), and a block reads only entries it stored itself before the
// body's __syncthreads, so the read is ordered after its own store (CTA scope) and can observe only that store or a
// later one in the location's coherence order, i.e. another block's store of the same bytes (the PTX memory model
// gives racing weak accesses defined values; it does not require race freedom). The body reads the cache with
// cp.async.cg, which skips L1: cp.async (not the bulk/TMA forms) is a weak generic-proxy read by the executing
// thread, and PTX makes cache operators performance hints that do not change memory consistency, so the barrier
// orders it after every thread's stores of the block as it would a plain load. Nothing this kernel stores is read through the non-coherent path: the cache is read by
// cp.async only, and q, k, v, cos, sin (never stored here) by plain loads of pointers without __restrict__.
// A designated writer would need the others to wait for it (no grid-wide barrier inside a launch) or to take their
// new keys from shared memory, which would fork the body's tile copies.
//
// Cost: a block rotates up to (its last query + 1) rows of one kv head, rounded up to a key tile, so the blocks of a
// query head store about T^2 / (2 BQ) rows (Llama-7B at 74 rows, w2s2: 202 for 74) and every query head of a kv
// group repeats them; CudaAttention limits the kernel to short prefills (glimpse.cuda.prefillRopeAttention.maxRows).
#include "attention_mma.cuh"
#include "rope_rows.cuh"

#include <type_traits>

// attention_mma_packed's query tile with the block's cache rows appended first (the file comment). C: the cache's
// element type, the pass's 16-bit type.
template <typename C>
struct RopeAppendQueries {
    const float* k;
    const float* v;
    const float* cos_t;
    const float* sin_t;
    C* key_cache;
    C* value_cache;
    int kv_heads;
    int capacity;

    // Entries start .. start + rows of kv head h: item (t, g) rotates key pairs 4g .. 4g + 3 with 4g + half ..
    // and stores values 8g .. 8g + 7 of row t (D / 8 items per row, the same count for keys and values). BATCH items
    // per thread load before any stores, so their L2 reads overlap (the compiler cannot move a load of k or v
    // above a cache store: the pointers may alias as far as it knows): 4 on sm_90 (24 float4 in flight, no spills),
    // 2 on sm_80, whose d64 w4 / w8 kernels spill more with 4.
    template <int DP, int THREADS>
    __device__ __forceinline__ void append_rows(int h, int start, int rows) const {
#if __CUDA_ARCH__ >= 900
        constexpr int BATCH = 4;
#else
        constexpr int BATCH = 2;
#endif
        constexpr int HALF = DP / 2, GROUPS = DP / 8;
        const int items = rows * GROUPS;
#pragma unroll 1
        for (int base = threadIdx.x; base < items; base += BATCH * THREADS) {
            float4 lo[BATCH], hi[BATCH], c[BATCH], s[BATCH], va[BATCH], vb[BATCH];
#pragma unroll
            for (int u = 0; u < BATCH; u++) {
                const int item = base + u * THREADS;
                if (item < items) {
                    const int t = item / GROUPS, g = item - t * GROUPS;
                    const float* krow = k + ((long long)t * kv_heads + h) * DP;
                    const float* vrow = v + ((long long)t * kv_heads + h) * DP;
                    lo[u] = *reinterpret_cast<const float4*>(krow + 4 * g);
                    hi[u] = *reinterpret_cast<const float4*>(krow + 4 * g + HALF);
                    c[u] = *reinterpret_cast<const float4*>(cos_t + (long long)t * HALF + 4 * g);
                    s[u] = *reinterpret_cast<const float4*>(sin_t + (long long)t * HALF + 4 * g);
                    va[u] = *reinterpret_cast<const float4*>(vrow + 8 * g);
                    vb[u] = *reinterpret_cast<const float4*>(vrow + 8 * g + 4);
                }
            }
#pragma unroll
            for (int u = 0; u < BATCH; u++) {
                const int item = base + u * THREADS;
                if (item < items) {
                    const int t = item / GROUPS, g = item - t * GROUPS;
                    const long long entry = ((long long)h * capacity + start + t) * DP;
                    float4 rlo, rhi;
                    rope_rotate4(lo[u], hi[u], c[u], s[u], rlo, rhi);
                    store4_kv(key_cache + entry + 4 * g, rlo);
                    store4_kv(key_cache + entry + 4 * g + HALF, rhi);
                    store8_kv(value_cache + entry + 8 * g, va[u], vb[u]);
                }
            }
        }
    }

    template <int DP, int BQ, int THREADS, typename T>
    __device__ __forceinline__ void load(uint16_t* dst, const float* q_head, long long s0, int first, int tokens,
                                         int dim, int keys, int query_start, int kv_head) const {
        static_assert(std::is_same<C, T>::value, "the cache holds the pass's 16-bit type");
        static_assert(DP == 64 || DP == 128, "head dims 64 and 128, every dim rotary");
        constexpr int HALF = DP / 2, GROUPS = HALF / 4, LD = DP + 8, ITEMS = BQ * GROUPS;
        // Queries: item (j, g) rotates pairs 4g .. 4g + 3 of query first + j into columns 4g .. and 4g + half ..
        // of row j, as load_queries rounds the rotated row (pack2 of consecutive pairs; zeros past `tokens`).
#pragma unroll
        for (int r = 0; r < (ITEMS + THREADS - 1) / THREADS; r++) {
            const int item = threadIdx.x + r * THREADS;
            if (ITEMS % THREADS == 0 || item < ITEMS) {
                const int j = item / GROUPS, i = (item - j * GROUPS) * 4, row = first + j;
                float4 rlo = make_float4(0.f, 0.f, 0.f, 0.f), rhi = rlo;
                if (row < tokens) {
                    const float* p = q_head + row * s0;
                    const float4 c = *reinterpret_cast<const float4*>(cos_t + (long long)row * HALF + i);
                    const float4 s = *reinterpret_cast<const float4*>(sin_t + (long long)row * HALF + i);
                    rope_rotate4(*reinterpret_cast<const float4*>(p + i), *reinterpret_cast<const float4*>(p + i + HALF),
                                    c, s, rlo, rhi);
                }
                *reinterpret_cast<uint2*>(dst + j * LD + i) = make_uint2(pack2<T>(rlo.x, rlo.y), pack2<T>(rlo.z, rlo.w));
                *reinterpret_cast<uint2*>(dst + j * LD + i + HALF) =
                    make_uint2(pack2<T>(rhi.x, rhi.y), pack2<T>(rhi.z, rhi.w));
            }
        }
        // New cache rows up to the end of the block's last key tile (or the last key).
        const int block_keys = mma_visible_keys(min(tokens, first + BQ) - 1, keys, query_start);
        const int rows = min(keys, (block_keys + MMA_BK - 1) / MMA_BK * MMA_BK) - query_start;
        append_rows<DP, THREADS>(kv_head, query_start, rows);
    }
};

// keys = start + tokens, causal from start; dim = DP; q packed (row stride Hq * D, head stride D); out as the _o16
// kernels store it (image_major_head with one image of q_heads heads).
#define PREFILL_ROPE_ATTENTION(NAME, DP, WARPS, KSPLIT, BUFFERS, MIN_BLOCKS, T)                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, const float* k, const float* v, const float* cos_t, const float* sin_t,                 \
         uint16_t* key_cache, uint16_t* value_cache, int capacity, uint16_t* out, int tokens, int q_heads,       \
         int kv_heads, float scale, int start) {                                                                 \
        const RopeAppendQueries<T> queries{k, v, cos_t, sin_t, reinterpret_cast<T*>(key_cache),                  \
                                           reinterpret_cast<T*>(value_cache), kv_heads, capacity};                \
        attention_mma_packed<DP, WARPS, T, true, KSPLIT, RopeAppendQueries<T>, BUFFERS>(                         \
            q, (long long)q_heads * DP, DP, key_cache, value_cache, (long long)capacity * DP, nullptr, nullptr,  \
            tokens, start + tokens, q_heads, kv_heads, DP, scale, start, out, q_heads, queries);                 \
    }

// The block shapes of attention_mma_cache_<t>_d<D>_<shape>_o16 but w4x2 (128-query blocks, which short prefills
// never choose: CudaAttention declines it) and w2s2b1 (auto takes it at padded dim 80 only, which this kernel lacks;
// CudaAttention declines it too), with their launch bounds. w2s4b1 (8 warps per 32 queries: 256 threads share a
// block's cache append) is auto's choice for this kernel on small grids (AttentionSmallGrid#block, causal).
#define PREFILL_ROPE_ATTENTION_SHAPES(T, TN)                                                                     \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d64_w4, 64, 4, 1, 2, 4, T)                              \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d128_w4, 128, 4, 1, 2, 3, T)                            \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d64_w8, 64, 8, 1, 2, 2, T)                              \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d128_w8, 128, 8, 1, 2, 1, T)                            \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d64_w2, 64, 2, 1, 2, 6, T)                              \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d128_w2, 128, 2, 1, 2, 3, T)                            \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d64_w2s2, 64, 4, 2, 2, 3, T)                            \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d128_w2s2, 128, 4, 2, 2, 1, T)                          \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d64_w2s4b1, 64, 8, 4, 1, 1, T)                          \
    PREFILL_ROPE_ATTENTION(prefill_rope_attention_##TN##_d128_w2s4b1, 128, 8, 4, 1, 1, T)

PREFILL_ROPE_ATTENTION_SHAPES(__nv_bfloat16, bf16)
PREFILL_ROPE_ATTENTION_SHAPES(__half, f16)
