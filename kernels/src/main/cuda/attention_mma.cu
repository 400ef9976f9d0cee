// The 16-bit prefill attention kernels (attention_mma.cuh describes the pass and holds the code they share
// with prefill_rope_attention.cu): pack, packed, in place from a KV cache, images-as-heads, key-split and
// two-tile (w4x2) shapes.
//
// Programmatic dependent launch (-Dglimpse.cuda.pdlPrefill=true, grid_dependency.cuh): every kernel
// starts with grid_dependency_wait(); the pack kernels, which the second pack or the attention
// follows, with grid_dependency_enter().
#include "attention_mma.cuh"
#include "grid_dependency.cuh"

#define ATTENTION_MMA_PACK(NAME, T, DP)                                                                          \
    extern "C" __global__ void NAME(const float* src, long long s0, long long s1, uint16_t* dst, int rows,       \
                                    int dim) {                                                                   \
        grid_dependency_enter();                                                                                 \
        pack_heads<T, DP>(src, s0, s1, dst, rows, dim);                                                          \
    }

ATTENTION_MMA_PACK(attention_mma_pack_bf16_d64, __nv_bfloat16, 64)
ATTENTION_MMA_PACK(attention_mma_pack_bf16_d80, __nv_bfloat16, 80)
ATTENTION_MMA_PACK(attention_mma_pack_bf16_d128, __nv_bfloat16, 128)
ATTENTION_MMA_PACK(attention_mma_pack_f16_d64, __half, 64)
ATTENTION_MMA_PACK(attention_mma_pack_f16_d80, __half, 80)
ATTENTION_MMA_PACK(attention_mma_pack_f16_d128, __half, 128)

// K and V in one launch (the tower's lean passes, CudaAttention#packKeysValues): grid (x, heads, 2),
// blockIdx.z 0 packs k into k_dst and 1 packs v into v_dst, each as attention_mma_pack_<t>_d<DP> does
// (pack_heads itself, so the same values bit for bit); one launch instead of two.
#define ATTENTION_MMA_PACK_KV(NAME, T, DP)                                                                       \
    extern "C" __global__ void NAME(const float* k, long long ks0, long long ks1, const float* v, long long vs0, \
                                    long long vs1, uint16_t* k_dst, uint16_t* v_dst, int rows, int dim) {        \
        grid_dependency_enter();                                                                                 \
        if (blockIdx.z == 0) {                                                                                   \
            pack_heads<T, DP>(k, ks0, ks1, k_dst, rows, dim);                                                    \
        } else {                                                                                                 \
            pack_heads<T, DP>(v, vs0, vs1, v_dst, rows, dim);                                                    \
        }                                                                                                        \
    }

ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_bf16_d64, __nv_bfloat16, 64)
ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_bf16_d80, __nv_bfloat16, 80)
ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_bf16_d128, __nv_bfloat16, 128)
ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_f16_d64, __half, 64)
ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_f16_d80, __half, 80)
ATTENTION_MMA_PACK_KV(attention_mma_pack_kv_f16_d128, __half, 128)

#define ATTENTION_MMA_PACKED(NAME, DP, WARPS, MIN_BLOCKS, T)                                                     \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, float* out,         \
         float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {    \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T>(q, qs0, qs1, k, v, (long long)keys * DP, out, lse, tokens, keys,     \
                                           q_heads, kv_heads, dim, scale, query_start);                          \
    }

// The packed kernels reading K and V in place from a 16-bit KV cache [Hkv, head_rows, D] with D = DP
// (head_rows: the cache capacity).
#define ATTENTION_MMA_CACHE(NAME, DP, WARPS, MIN_BLOCKS, T)                                                      \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, int head_rows,       \
         float* out, float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale,         \
         int query_start) {                                                                                      \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T>(q, qs0, qs1, k, v, (long long)head_rows * DP, out, lse, tokens, keys, \
                                           q_heads, kv_heads, dim, scale, query_start);                          \
    }

ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d64_w4, 64, 4, 4, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d80_w4, 80, 4, 4, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d128_w4, 128, 4, 3, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d64_w8, 64, 8, 2, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d80_w8, 80, 8, 2, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_bf16_d128_w8, 128, 8, 1, __nv_bfloat16)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d64_w4, 64, 4, 4, __half)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d80_w4, 80, 4, 4, __half)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d128_w4, 128, 4, 3, __half)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d64_w8, 64, 8, 2, __half)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d80_w8, 80, 8, 2, __half)
ATTENTION_MMA_PACKED(attention_mma_packed_f16_d128_w8, 128, 8, 1, __half)
ATTENTION_MMA_CACHE(attention_mma_cache_bf16_d64_w4, 64, 4, 4, __nv_bfloat16)
ATTENTION_MMA_CACHE(attention_mma_cache_bf16_d128_w4, 128, 4, 3, __nv_bfloat16)
ATTENTION_MMA_CACHE(attention_mma_cache_bf16_d64_w8, 64, 8, 2, __nv_bfloat16)
ATTENTION_MMA_CACHE(attention_mma_cache_bf16_d128_w8, 128, 8, 1, __nv_bfloat16)
ATTENTION_MMA_CACHE(attention_mma_cache_f16_d64_w4, 64, 4, 4, __half)
ATTENTION_MMA_CACHE(attention_mma_cache_f16_d128_w4, 128, 4, 3, __half)
ATTENTION_MMA_CACHE(attention_mma_cache_f16_d64_w8, 64, 8, 2, __half)
ATTENTION_MMA_CACHE(attention_mma_cache_f16_d128_w8, 128, 8, 1, __half)

// Small-grid shapes (AttentionSmallGrid): w2, 2 warps of 16 queries (twice the blocks of w4); w2s2,
// 2 query warps with 2 key-split warps each (4 warps, 32 queries: Key-split blocks above). Packed,
// in place from a cache and images-as-heads, as the other shapes. MIN_BLOCKS: as many blocks as
// their shared memory lets an SM hold (w2s2 d128: 1), which leaves room for their registers
// without spills (at 4 blocks of 4 warps the key-split d64 kernels spill).
#define ATTENTION_MMA_PACKED_KS(NAME, DP, WARPS, KSPLIT, BUFFERS, MIN_BLOCKS, T)                                 \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, float* out,         \
         float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {    \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T, false, KSPLIT, PlainQueries, BUFFERS>(                                \
            q, qs0, qs1, k, v, (long long)keys * DP, out, lse, tokens, keys, q_heads, kv_heads, dim, scale,      \
            query_start);                                                                                        \
    }

#define ATTENTION_MMA_CACHE_KS(NAME, DP, WARPS, KSPLIT, BUFFERS, MIN_BLOCKS, T)                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, int head_rows,       \
         float* out, float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale,         \
         int query_start) {                                                                                      \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T, false, KSPLIT, PlainQueries, BUFFERS>(                                \
            q, qs0, qs1, k, v, (long long)head_rows * DP, out, lse, tokens, keys, q_heads, kv_heads, dim, scale, \
            query_start);                                                                                        \
    }

#define ATTENTION_MMA_IMAGES_KS(NAME, DP, WARPS, KSPLIT, BUFFERS, MIN_BLOCKS, T)                                 \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, uint16_t* out,      \
         int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int heads_per_image) {          \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T, true, KSPLIT, PlainQueries, BUFFERS>(                                 \
            q, qs0, qs1, k, v, (long long)keys * DP, nullptr, nullptr, tokens, keys, q_heads, kv_heads, dim,     \
            scale, -1, out, heads_per_image);                                                                    \
    }

#define ATTENTION_MMA_SMALL_GRID(T, TN)                                                                          \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d64_w2, 64, 2, 1, 2, 6, T)                               \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d80_w2, 80, 2, 1, 2, 5, T)                               \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d128_w2, 128, 2, 1, 2, 3, T)                             \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d64_w2s2, 64, 4, 2, 2, 3, T)                             \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d80_w2s2, 80, 4, 2, 2, 2, T)                             \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d128_w2s2, 128, 4, 2, 2, 1, T)                           \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d64_w2, 64, 2, 1, 2, 6, T)                                 \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d128_w2, 128, 2, 1, 2, 3, T)                               \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d64_w2s2, 64, 4, 2, 2, 3, T)                               \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d128_w2s2, 128, 4, 2, 2, 1, T)                             \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d64_w2, 64, 2, 1, 2, 6, T)                               \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d80_w2, 80, 2, 1, 2, 5, T)                               \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d128_w2, 128, 2, 1, 2, 3, T)                             \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d64_w2s2, 64, 4, 2, 2, 3, T)                             \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d80_w2s2, 80, 4, 2, 2, 2, T)                             \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d128_w2s2, 128, 4, 2, 2, 1, T)

// The single-round key-split shapes (attention_mma.cuh, "Single-round key-split blocks"): w2s2b1 (w2s2 with one
// round of K and V tiles) and w2s4b1 (2 query warps with 4 key-split warps each, the 4 partials merged in group
// order). w2s2b1 is auto's shape at padded dim 80 (SigLIP: w2s2's 90 KB let an SM hold 2 blocks, w2s2b1's 45 KB 3,
// as many as the registers allow), w2s4b1 the fused rope-attention kernel's (prefill_rope_attention.cu). The
// images-as-heads kernels have w2s2b1 at d80 only, auto's one use of them (the bidirectional tower; the others were
// never chosen and went, 2026-11-29: CudaAttention#imagesAsHeads declines a shape without its kernel).
// MIN_BLOCKS: the blocks an H200 SM holds by shared memory, capped where more would squeeze the registers below
// what the kernel uses without spills (ptxas -v, sm_90: 141-163 at d64/d80, 200-205 at d128; the 8-warp w2s4b1
// keeps 1: at 2 it would get 128).
#define ATTENTION_MMA_SMALL_GRID_B1(T, TN)                                                                       \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d64_w2s2b1, 64, 4, 2, 1, 3, T)                           \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d80_w2s2b1, 80, 4, 2, 1, 3, T)                           \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d128_w2s2b1, 128, 4, 2, 1, 2, T)                         \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d64_w2s4b1, 64, 8, 4, 1, 1, T)                           \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d80_w2s4b1, 80, 8, 4, 1, 1, T)                           \
    ATTENTION_MMA_PACKED_KS(attention_mma_packed_##TN##_d128_w2s4b1, 128, 8, 4, 1, 1, T)                         \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d64_w2s2b1, 64, 4, 2, 1, 3, T)                             \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d128_w2s2b1, 128, 4, 2, 1, 2, T)                           \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d64_w2s4b1, 64, 8, 4, 1, 1, T)                             \
    ATTENTION_MMA_CACHE_KS(attention_mma_cache_##TN##_d128_w2s4b1, 128, 8, 4, 1, 1, T)                           \
    ATTENTION_MMA_IMAGES_KS(attention_mma_images_##TN##_d80_w2s2b1, 80, 4, 2, 1, 3, T)

ATTENTION_MMA_SMALL_GRID(__nv_bfloat16, bf16)
ATTENTION_MMA_SMALL_GRID(__half, f16)
ATTENTION_MMA_SMALL_GRID_B1(__nv_bfloat16, bf16)
ATTENTION_MMA_SMALL_GRID_B1(__half, f16)

// ---------------------------------------------------------------------------------------------
// attention_mma_packed_<t>_d<DP>_w4x2: the same pass over the same packed K and V with the same
// arithmetic per row (so the same outputs, and the same rounding points: Q, K, V, P in 16 bits,
// scores, statistics and output F32), reshaped after FlashAttention-2's forward kernel:
//   - 4 warps over 128 queries, each warp two 16-row m-tiles (rows 16 warp + i and 64 + 16 warp + i):
//     every K or V fragment a warp ldmatrix's feeds 4 mma instead of 2, which halves the shared
//     memory reads per tensor-core flop (0.25 ldmatrix.x4 of 512 bytes per m16n8k16 instead of 0.5:
//     at 128 bytes per clock per SM the 16-row kernels' ldmatrix traffic alone equals the mma.sync
//     rate), and gives each warp twice the independent mma chains between dependent instructions.
//     The interleaved rows give every warp the same share of the causal diagonal.
//   - causal grids run the heaviest query blocks of every head first: block (x, y) of the grid takes
//     query block gridDim.x - 1 - L / Hq of head L % Hq, L = y gridDim.x + x, so the longest blocks
//     start in the first wave and the short ones fill the tail (the 16-row kernels reverse the query
//     blocks within each head only, which launches the last heads' longest blocks late). Bidirectional
//     grids keep head-major order (a head's K and V stay in L2 while its blocks run).
//   - each thread's 16-byte chunks of a K or V tile are fixed across tiles (TileCopy), so a tile copy
//     is a few adds per cp.async instead of an index split per chunk.
//   - the mask is applied only on key tiles that reach past some row's last visible key
//     (warp-uniform test); interior tiles do no per-score compare.
//   - the first key tile's V copy (and K's, where the queries have their own shared memory) starts
//     before the query tile loads, so its latency overlaps the block's prologue.
// Q stays in registers as A fragments at DP = 64 (243 registers on sm_90, no spills); at DP = 80 and
// 128 that would spill (the O accumulators take 2 DP / 2 registers), so the rounded query tile keeps
// its own shared memory [128][DP + 8] after the K and V tiles and each key tile ldmatrix's its
// fragments again (0.31 ldmatrix.x4 per mma instead of 0.25). 2 blocks of 4 warps per SM.

// The 16-byte chunks of a 64-row 16-bit K or V tile [64][DP + 8] that one thread of THREADS copies,
// fixed across tiles: chunk column `col`, rows row0 + p ROWS for each pass p.
template <int DP, int THREADS>
struct TileCopy {
    static constexpr int CH = DP / 8, LD = DP + 8;
    static constexpr int ROWS = THREADS / CH, PASSES = (MMA_BK + ROWS - 1) / ROWS;
    static_assert(ROWS > 0, "fewer threads than 16-byte chunks per row");
    int row0, col;
    bool active;

    __device__ __forceinline__ TileCopy()
        : row0(threadIdx.x / CH), col((threadIdx.x % CH) * 8), active(threadIdx.x < ROWS * CH) {}

    // Starts copying rows [first, first + 64) of a 16-bit [rows, DP] operand into dst; zeros at rows
    // >= `rows` (never garbage: a garbage V times a zero probability can be NaN).
    __device__ __forceinline__ void issue(uint16_t* dst, const uint16_t* src, int first, int rows) const {
#pragma unroll
        for (int p = 0; p < PASSES; p++) {
            const int j = row0 + p * ROWS, row = first + j;
            if ((THREADS % CH == 0 || active) && (MMA_BK % ROWS == 0 || j < MMA_BK)) {
                const bool in = row < rows;
                cp_async16(dst + j * LD + col, in ? src + (long long)row * DP + col : src, in ? 16 : 0);
            }
        }
    }
};

// IMAGES: as attention_mma_packed's.
template <int DP, typename T, bool Q_REGS, bool IMAGES = false>
__device__ __forceinline__ void
attention_mma_packed_x2(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v,
                        long long head_stride, float* out, float* lse, int tokens, int keys, int q_heads,
                        int kv_heads, int dim, float scale, int query_start, uint16_t* out16 = nullptr,
                        int heads_per_image = 0) {
    static_assert(DP % 16 == 0 && DP <= 128, "padded head dim must be a multiple of 16, at most 128");
    constexpr int WARPS = 4, MT = 2, THREADS = WARPS * 32;
    constexpr int MROWS = WARPS * 16;  // rows between a warp's two m-tiles
    constexpr int BQ = MT * MROWS;     // queries per block
    static_assert(!Q_REGS || BQ <= 2 * MMA_BK, "the query tile borrows the two K tiles");
    constexpr int LD = DP + 8;
    constexpr int TILE = MMA_BK * LD;
    constexpr int KSTEPS = DP / 16;
    constexpr int DTILES = DP / 8;
    constexpr int NTILES = MMA_BK / 8;
    constexpr float LOG2E = 1.4426950408889634f;
    constexpr float LN2 = 0.6931471805599453f;
    extern __shared__ __align__(16) uint16_t mma_smem[];
    uint16_t* ks = mma_smem;                     // K tiles 0, 1
    uint16_t* vsh = ks + 2 * TILE;               // V tiles 0, 1
    uint16_t* qsh = Q_REGS ? ks : vsh + 2 * TILE; // query tile [BQ][LD]
    int head, qblock;
    if (query_start < 0) {
        head = blockIdx.y;
        qblock = blockIdx.x;
    } else {
        const int linear = blockIdx.y * gridDim.x + blockIdx.x;
        head = linear % q_heads;
        qblock = gridDim.x - 1 - linear / q_heads;
    }
    const int first = qblock * BQ;
    const int kv_head = head / (q_heads / kv_heads);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, c = lane & 3;
    const float scale_log2 = scale * LOG2E;

    const int block_keys = mma_visible_keys(min(tokens, first + BQ) - 1, keys, query_start);
    const int tiles = (block_keys + MMA_BK - 1) / MMA_BK;
    const uint16_t* k_head = k + (long long)kv_head * head_stride;
    const uint16_t* v_head = v + (long long)kv_head * head_stride;
    const TileCopy<DP, THREADS> copy;
    // The first key tile's copies that do not land on the query tile start before the queries load,
    // so their latency overlaps it: V always, K too when the queries have their own shared memory.
    if (tiles > 0) {
        copy.issue(vsh, v_head, 0, keys);
        if constexpr (!Q_REGS) copy.issue(ks, k_head, 0, keys);
    }
    cp_async_commit();

    const float* q_head = q + head * qs1;
    load_queries<DP, BQ, THREADS, T>(qsh, q_head, qs0, first, tokens, dim, vec_rows(q_head, qs0, dim));
    __syncthreads();
    const uint32_t ks_addr = static_cast<uint32_t>(__cvta_generic_to_shared(ks));
    const uint32_t vs_addr = static_cast<uint32_t>(__cvta_generic_to_shared(vsh));
    // A fragments of m-tile i at k-step kk: rows i MROWS + 16 warp + (lane & 15), cols 16 kk + 8 (lane / 16).
    const uint32_t q_lane = static_cast<uint32_t>(__cvta_generic_to_shared(qsh)) +
                            ((warp * 16 + (lane & 15)) * LD + (lane >> 4) * 8) * 2;
    uint32_t qa[MT][Q_REGS ? KSTEPS : 1][4];
    if constexpr (Q_REGS) {
#pragma unroll
        for (int i = 0; i < MT; i++) {
#pragma unroll
            for (int kk = 0; kk < KSTEPS; kk++) ldmatrix_x4(qa[i][kk], q_lane + (i * MROWS * LD + kk * 16) * 2);
        }
        __syncthreads(); // retires the reads before the K tiles are copied over the queries
        if (tiles > 0) copy.issue(ks, k_head, 0, keys);
        cp_async_commit();
    }

    // This thread's rows: first + i MROWS + 16 warp + g + 8 h. Rows past `tokens` are computed over
    // zero queries (finite) and never stored.
    int vis[MT][2];
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int h = 0; h < 2; h++) vis[i][h] = mma_visible_keys(first + i * MROWS + warp * 16 + g + 8 * h, keys, query_start);
    }
    // Keys every row of this warp sees (its first row sees the fewest), and keys some row sees.
    const int warp_all_keys = mma_visible_keys(first + warp * 16, keys, query_start);
    const int warp_keys = first + warp * 16 < tokens
                              ? mma_visible_keys(min(tokens - 1, first + MROWS + warp * 16 + 15), keys, query_start)
                              : 0;

    float o[MT][DTILES][4];
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int n = 0; n < DTILES; n++) o[i][n][0] = o[i][n][1] = o[i][n][2] = o[i][n][3] = 0.f;
    }
    float mrow[MT][2], lrow[MT][2]; // running max (log2 domain) and this thread's partial row sums
#pragma unroll
    for (int i = 0; i < MT; i++) {
        mrow[i][0] = mrow[i][1] = -INFINITY;
        lrow[i][0] = lrow[i][1] = 0.f;
    }

    // Fragment addresses within tile 0, as in attention_mma_packed.
    const uint32_t k_lane = ks_addr + (((lane & 7) + ((lane >> 4) << 3)) * LD + ((lane >> 3) & 1) * 8) * 2;
    const uint32_t v_lane = vs_addr + (((lane & 7) + ((lane >> 3) & 1) * 8) * LD + (lane >> 4) * 8) * 2;

    for (int it = 0; it < tiles; it++) {
        const int j0 = it * MMA_BK, buf = it & 1;
        cp_async_wait_all();
        __syncthreads();
        if (it + 1 < tiles) {
            copy.issue(ks + (buf ^ 1) * TILE, k_head, j0 + MMA_BK, keys);
            copy.issue(vsh + (buf ^ 1) * TILE, v_head, j0 + MMA_BK, keys);
        }
        cp_async_commit();
        if (j0 >= warp_keys) continue; // every row of this warp is past this tile (causal) or no row is a query
        const uint32_t k_tile = k_lane + buf * TILE * 2, v_tile = v_lane + buf * TILE * 2;

        // S = Q K^T for both m-tiles: each K fragment feeds 4 mma.
        float s[MT][NTILES][4];
#pragma unroll
        for (int i = 0; i < MT; i++) {
#pragma unroll
            for (int n = 0; n < NTILES; n++) s[i][n][0] = s[i][n][1] = s[i][n][2] = s[i][n][3] = 0.f;
        }
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++) {
            uint32_t qf[MT][4];
#pragma unroll
            for (int i = 0; i < MT; i++) {
                if constexpr (Q_REGS) {
#pragma unroll
                    for (int e = 0; e < 4; e++) qf[i][e] = qa[i][kk][e];
                } else {
                    ldmatrix_x4(qf[i], q_lane + (i * MROWS * LD + kk * 16) * 2);
                }
            }
#pragma unroll
            for (int np = 0; np < NTILES / 2; np++) {
                uint32_t b[4];
                ldmatrix_x4(b, k_tile + (np * 16 * LD + kk * 16) * 2);
#pragma unroll
                for (int i = 0; i < MT; i++) {
                    mma16816<T>(s[i][2 * np], qf[i], b[0], b[1]);
                    mma16816<T>(s[i][2 * np + 1], qf[i], b[2], b[3]);
                }
            }
        }

        // Online softmax per m-tile, the arithmetic of attention_mma_packed row for row.
        const bool masked = j0 + MMA_BK > warp_all_keys;
#pragma unroll
        for (int i = 0; i < MT; i++) {
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int n = 0; n < NTILES; n++) {
                if (masked) {
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        int key = j0 + n * 8 + 2 * c + (e & 1);
                        s[i][n][e] = key < vis[i][e >> 1] ? s[i][n][e] : -INFINITY;
                    }
                }
                mx0 = fmaxf(mx0, fmaxf(s[i][n][0], s[i][n][1]));
                mx1 = fmaxf(mx1, fmaxf(s[i][n][2], s[i][n][3]));
            }
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
            const float new0 = fmaxf(mrow[i][0], mx0 * scale_log2), new1 = fmaxf(mrow[i][1], mx1 * scale_log2);
            const float base0 = new0 == -INFINITY ? 0.f : new0, base1 = new1 == -INFINITY ? 0.f : new1;
            const float corr0 = fast_exp2(mrow[i][0] - base0), corr1 = fast_exp2(mrow[i][1] - base1);
            mrow[i][0] = new0;
            mrow[i][1] = new1;
            float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
            for (int n = 0; n < NTILES; n++) {
                s[i][n][0] = fast_exp2(fmaf(s[i][n][0], scale_log2, -base0));
                s[i][n][1] = fast_exp2(fmaf(s[i][n][1], scale_log2, -base0));
                s[i][n][2] = fast_exp2(fmaf(s[i][n][2], scale_log2, -base1));
                s[i][n][3] = fast_exp2(fmaf(s[i][n][3], scale_log2, -base1));
                sum0 += s[i][n][0] + s[i][n][1];
                sum1 += s[i][n][2] + s[i][n][3];
            }
            lrow[i][0] = lrow[i][0] * corr0 + sum0;
            lrow[i][1] = lrow[i][1] * corr1 + sum1;
            if (__any_sync(0xffffffffu, corr0 != 1.f || corr1 != 1.f)) {
#pragma unroll
                for (int n = 0; n < DTILES; n++) {
                    o[i][n][0] *= corr0;
                    o[i][n][1] *= corr0;
                    o[i][n][2] *= corr1;
                    o[i][n][3] *= corr1;
                }
            }
        }

        // O += P V for both m-tiles: each V fragment feeds 4 mma.
#pragma unroll
        for (int kk = 0; kk < MMA_BK / 16; kk++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int i = 0; i < MT; i++) {
                pa[i][0] = pack2<T>(s[i][2 * kk][0], s[i][2 * kk][1]);
                pa[i][1] = pack2<T>(s[i][2 * kk][2], s[i][2 * kk][3]);
                pa[i][2] = pack2<T>(s[i][2 * kk + 1][0], s[i][2 * kk + 1][1]);
                pa[i][3] = pack2<T>(s[i][2 * kk + 1][2], s[i][2 * kk + 1][3]);
            }
#pragma unroll
            for (int np = 0; np < DTILES / 2; np++) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, v_tile + (kk * 16 * LD + np * 16) * 2);
#pragma unroll
                for (int i = 0; i < MT; i++) {
                    mma16816<T>(o[i][2 * np], pa[i], b[0], b[1]);
                    mma16816<T>(o[i][2 * np + 1], pa[i], b[2], b[3]);
                }
            }
        }
    }

    if constexpr (IMAGES) {
        const bool pairs16 = dim % 2 == 0 && (reinterpret_cast<uintptr_t>(out16) & 3) == 0;
        uint16_t* out_head = image_major_head(out16, head, tokens, heads_per_image, dim);
        const int out_pitch = heads_per_image * dim;
#pragma unroll
        for (int i = 0; i < MT; i++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float l = lrow[i][h];
                l += __shfl_xor_sync(0xffffffffu, l, 1);
                l += __shfl_xor_sync(0xffffffffu, l, 2);
                const int t = first + i * MROWS + warp * 16 + g + 8 * h;
                if (t >= tokens) continue;
                const float inv = l > 0.f ? 1.f / l : 0.f;
                uint16_t* orow = out_head + (long long)t * out_pitch;
#pragma unroll
                for (int n = 0; n < DTILES; n++) {
                    store_pair16<T>(orow, pairs16, dim, n * 8 + 2 * c, o[i][n][2 * h] * inv,
                                    o[i][n][2 * h + 1] * inv);
                }
            }
        }
        return;
    }
    const bool pairs = dim % 2 == 0 && (reinterpret_cast<uintptr_t>(out) & 7) == 0;
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float l = lrow[i][h];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int t = first + i * MROWS + warp * 16 + g + 8 * h;
            if (t >= tokens) continue;
            const float inv = l > 0.f ? 1.f / l : 0.f;
            float* orow = out + ((long long)t * q_heads + head) * dim;
#pragma unroll
            for (int n = 0; n < DTILES; n++) {
                const int d = n * 8 + 2 * c;
                const float x0 = o[i][n][2 * h] * inv, x1 = o[i][n][2 * h + 1] * inv;
                if (pairs) {
                    if (d < dim) *reinterpret_cast<float2*>(orow + d) = make_float2(x0, x1);
                } else {
                    if (d < dim) orow[d] = x0;
                    if (d + 1 < dim) orow[d + 1] = x1;
                }
            }
            if (lse != nullptr && c == 0) lse[(long long)head * tokens + t] = mrow[i][h] * LN2 + logf(l);
        }
    }
}

#define ATTENTION_MMA_PACKED_X2(NAME, DP, Q_REGS, T)                                                             \
    extern "C" __global__ void __launch_bounds__(128, 2)                                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, float* out,         \
         float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {    \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed_x2<DP, T, Q_REGS>(q, qs0, qs1, k, v, (long long)keys * DP, out, lse, tokens, keys, \
                                               q_heads, kv_heads, dim, scale, query_start);                      \
    }

// In place from a 16-bit KV cache, as ATTENTION_MMA_CACHE.
#define ATTENTION_MMA_CACHE_X2(NAME, DP, Q_REGS, T)                                                              \
    extern "C" __global__ void __launch_bounds__(128, 2)                                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, int head_rows,       \
         float* out, float* lse, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale,         \
         int query_start) {                                                                                      \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed_x2<DP, T, Q_REGS>(q, qs0, qs1, k, v, (long long)head_rows * DP, out, lse, tokens,  \
                                               keys, q_heads, kv_heads, dim, scale, query_start);                \
    }

ATTENTION_MMA_PACKED_X2(attention_mma_packed_bf16_d64_w4x2, 64, true, __nv_bfloat16)
ATTENTION_MMA_PACKED_X2(attention_mma_packed_bf16_d80_w4x2, 80, false, __nv_bfloat16)
ATTENTION_MMA_PACKED_X2(attention_mma_packed_bf16_d128_w4x2, 128, false, __nv_bfloat16)
ATTENTION_MMA_PACKED_X2(attention_mma_packed_f16_d64_w4x2, 64, true, __half)
ATTENTION_MMA_PACKED_X2(attention_mma_packed_f16_d80_w4x2, 80, false, __half)
ATTENTION_MMA_PACKED_X2(attention_mma_packed_f16_d128_w4x2, 128, false, __half)

ATTENTION_MMA_CACHE_X2(attention_mma_cache_bf16_d64_w4x2, 64, true, __nv_bfloat16)
ATTENTION_MMA_CACHE_X2(attention_mma_cache_bf16_d128_w4x2, 128, false, __nv_bfloat16)
ATTENTION_MMA_CACHE_X2(attention_mma_cache_f16_d64_w4x2, 64, true, __half)
ATTENTION_MMA_CACHE_X2(attention_mma_cache_f16_d128_w4x2, 128, false, __half)

// ---------------------------------------------------------------------------------------------
// attention_mma_images_<t>_d<DP>_<shape>: the packed kernels of every block shape, bidirectional,
// for a vision tower's images-as-heads attention, writing each output row rounded to the 16-bit type
// straight into its image-major row of out [images, T, heads_per_image * dim] (image_major_head)
// instead of F32 [T, Hq, D] rows that a transposing copy then rounds: the same arithmetic, so the same
// bits as that copy, and neither the F32 output nor the copy. q, k, v and the grid as the packed
// kernels (q_heads = images * heads_per_image); no log-sum-exps.
#define ATTENTION_MMA_IMAGES(NAME, DP, WARPS, MIN_BLOCKS, T)                                                     \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, uint16_t* out,      \
         int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int heads_per_image) {          \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T, true>(q, qs0, qs1, k, v, (long long)keys * DP, nullptr, nullptr,     \
                                                 tokens, keys, q_heads, kv_heads, dim, scale, -1, out,           \
                                                 heads_per_image);                                               \
    }

#define ATTENTION_MMA_IMAGES_X2(NAME, DP, Q_REGS, T)                                                             \
    extern "C" __global__ void __launch_bounds__(128, 2)                                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, uint16_t* out,      \
         int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int heads_per_image) {          \
        grid_dependency_wait();                                                                                  \
        attention_mma_packed_x2<DP, T, Q_REGS, true>(q, qs0, qs1, k, v, (long long)keys * DP, nullptr, nullptr, \
                                                     tokens, keys, q_heads, kv_heads, dim, scale, -1, out,       \
                                                     heads_per_image);                                           \
    }

ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d64_w4, 64, 4, 4, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d80_w4, 80, 4, 4, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d128_w4, 128, 4, 3, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d64_w8, 64, 8, 2, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d80_w8, 80, 8, 2, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_bf16_d128_w8, 128, 8, 1, __nv_bfloat16)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d64_w4, 64, 4, 4, __half)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d80_w4, 80, 4, 4, __half)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d128_w4, 128, 4, 3, __half)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d64_w8, 64, 8, 2, __half)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d80_w8, 80, 8, 2, __half)
ATTENTION_MMA_IMAGES(attention_mma_images_f16_d128_w8, 128, 8, 1, __half)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_bf16_d64_w4x2, 64, true, __nv_bfloat16)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_bf16_d80_w4x2, 80, false, __nv_bfloat16)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_bf16_d128_w4x2, 128, false, __nv_bfloat16)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_f16_d64_w4x2, 64, true, __half)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_f16_d80_w4x2, 80, false, __half)
ATTENTION_MMA_IMAGES_X2(attention_mma_images_f16_d128_w4x2, 128, false, __half)

// attention_mma_cache_<t>_d<64|128>_<shape>_o16: the cache kernels of every block shape writing each
// output row rounded to the 16-bit type into out [T, Hq, D] (the images kernels' store with one image of
// q_heads heads: image_major_head's row t of head h is then t * Hq * D + h * D), which is o_proj's GEMM
// input, instead of F32 rows that convert_f32 then rounds into scratch: the same F32 values rounded to
// nearest even, so the same bits, and neither the F32 rows nor the conversion pass. Causal as the cache
// kernels (query_start); no log-sum-exps (the host takes these only without captured column sums). No
// d128 w4x2 (it would spill, as attention_mma_images_<t>_d128_w4x2 does; auto never picks w4x2 past 64).
#define ATTENTION_MMA_CACHE16(NAME, DP, WARPS, KSPLIT, BUFFERS, MIN_BLOCKS, T)                                   \
    extern "C" __global__ void __launch_bounds__(WARPS * 32, MIN_BLOCKS)                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, int head_rows,       \
         uint16_t* out, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {\
        grid_dependency_wait();                                                                                  \
        attention_mma_packed<DP, WARPS, T, true, KSPLIT, PlainQueries, BUFFERS>(                                 \
            q, qs0, qs1, k, v, (long long)head_rows * DP, nullptr, nullptr, tokens, keys, q_heads, kv_heads, dim, \
            scale, query_start, out, q_heads);                                                                   \
    }

#define ATTENTION_MMA_CACHE16_X2(NAME, DP, Q_REGS, T)                                                            \
    extern "C" __global__ void __launch_bounds__(128, 2)                                                         \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, int head_rows,       \
         uint16_t* out, int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {\
        grid_dependency_wait();                                                                                  \
        attention_mma_packed_x2<DP, T, Q_REGS, true>(q, qs0, qs1, k, v, (long long)head_rows * DP, nullptr,     \
                                                     nullptr, tokens, keys, q_heads, kv_heads, dim, scale,       \
                                                     query_start, out, q_heads);                                 \
    }

#define ATTENTION_MMA_CACHE16_SHAPES(T, TN)                                                                      \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w4_o16, 64, 4, 1, 2, 4, T)                              \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w4_o16, 128, 4, 1, 2, 3, T)                            \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w8_o16, 64, 8, 1, 2, 2, T)                              \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w8_o16, 128, 8, 1, 2, 1, T)                            \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w2_o16, 64, 2, 1, 2, 6, T)                              \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w2_o16, 128, 2, 1, 2, 3, T)                            \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w2s2_o16, 64, 4, 2, 2, 3, T)                            \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w2s2_o16, 128, 4, 2, 2, 1, T)                          \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w2s2b1_o16, 64, 4, 2, 1, 3, T)                          \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w2s2b1_o16, 128, 4, 2, 1, 2, T)                        \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d64_w2s4b1_o16, 64, 8, 4, 1, 1, T)                          \
    ATTENTION_MMA_CACHE16(attention_mma_cache_##TN##_d128_w2s4b1_o16, 128, 8, 4, 1, 1, T)                        \
    ATTENTION_MMA_CACHE16_X2(attention_mma_cache_##TN##_d64_w4x2_o16, 64, true, T)

ATTENTION_MMA_CACHE16_SHAPES(__nv_bfloat16, bf16)
ATTENTION_MMA_CACHE16_SHAPES(__half, f16)

// ---------------------------------------------------------------------------------------------
// attention_mma_images_resident_<t>_d<DP>_q<QWARPS>s<KSPLIT>: the images-as-heads attention of one vision-tower
// head with the head's whole K and V resident in shared memory. The tiled kernels stream every key tile through
// two small buffers behind a barrier per round, so a CLIP-L/336 image (577 keys, 10 tiles) is 304 blocks of 4
// warps that each wait on 5 copies in turn, latency-bound. Here one block takes QWARPS 16-row query warps of a
// head (80 rows at QWARPS 5: one CLIP image is 8 x 16 = 128 blocks, one wave on 132 SMs), each served by KSPLIT
// key-split warps, and copies all of the head's packed K and V ([tiles][64][LD] each, 184 KB for CLIP,
// zeros past `keys`) with cp.async up front, one commit group per round of KSPLIT tiles: round r only waits for its
// own group, so the first mma starts when round 0 has landed while the rest streams in (issuing each round's copies
// two rounds ahead instead measured no faster on the H200, 2026-11-29, and went). The queries go
// straight from F32 global rows into A fragments (no query tile, rounded as load_queries rounds them), loaded
// before the copies are queued.
// Warp `group` of a query warp walks tiles group, group + KSPLIT, ... and merge_key_groups combines the KSPLIT
// partials in group order: the tile order, the per-tile arithmetic (attend_key_tile) and the merge of the tiled
// w2s2 kernel (KSPLIT 2, the only one instantiated), so its bits.
// k and v: the pack kernel's [heads, keys, DP]; out, tokens, dim, scale, heads_per_image as the images kernels;
// grid (ceil(tokens / (16 QWARPS)), heads); dynamic shared memory max(2 tiles (64 LD) 2 bytes (+ 16 where
// LD < DP), the merge's partials (KSPLIT - 1) (4 DP / 8 + 4) 32 QWARPS 4 bytes), which the host checks against the
// device.
// LD: the tiles' row pitch, DP + 8 (rows padded: an odd multiple of 16 bytes, free of ldmatrix bank conflicts) or,
// where DP + 8 would not fit (SigLIP: 729 keys of 72 dims, DP 80: 256 KB), LD < DP dims, an odd number of 16-byte
// chunks (72: 144 bytes, so also conflict-free), for dims up to LD only (the host checks `dim`). Past them the last
// k-step of Q K^T reads the next row's first dims (or, after the last V row, 16 zeroed bytes), but the queries there
// are zeros, so they add exact zeros; and the P V n-tiles past LD, which read them too, are never stored (dims >=
// dim): the same scores, probabilities and stored outputs as the padded tiles give.
template <int DP, int LD, int QWARPS, int KSPLIT, typename T>
__device__ __forceinline__ void attention_mma_images_resident(const float* q, long long qs0, long long qs1,
                                                              const uint16_t* k, const uint16_t* v, uint16_t* out,
                                                              int tokens, int keys, int dim, float scale,
                                                              int heads_per_image) {
    static_assert(DP % 16 == 0 && DP <= 128, "padded head dim must be a multiple of 16, at most 128");
    static_assert(LD == DP + 8 || (LD % 8 == 0 && LD < DP && (LD / 8) % 2 == 1), "padded rows, or rows of LD dims");
    constexpr int THREADS = QWARPS * KSPLIT * 32, BQ = QWARPS * 16;
    constexpr int TILE = MMA_BK * LD, KSTEPS = DP / 16, DTILES = DP / 8;
    constexpr int CHUNKS = (LD < DP ? LD : DP) / 8; // 16-byte chunks copied per row
    constexpr float LOG2E = 1.4426950408889634f;
    extern __shared__ __align__(16) uint16_t mma_smem[];
    const int tiles = (keys + MMA_BK - 1) / MMA_BK;
    const int rounds = (tiles + KSPLIT - 1) / KSPLIT;
    uint16_t* ks = mma_smem;        // K tiles [tiles][64][LD]
    uint16_t* vsh = ks + tiles * TILE; // V tiles, as K's
    const int head = blockIdx.y, first = blockIdx.x * BQ;
    const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) % QWARPS, group = (threadIdx.x >> 5) / QWARPS;
    const int g = lane >> 2, c = lane & 3;

    // The queries of A fragments of the warp's rows t0 (a0, a2) and t1 (a1, a3) at k-step kk: columns 16 kk + 2c
    // (a0, a1) and 16 kk + 8 + 2c (a2, a3), two values each, zeros past `tokens` and `dim`. Loaded before the K and
    // V copies are queued (the volatile copies would otherwise hold them back until the last copy is queued, and the
    // first key tile waits for them), rounded after.
    const float* q_head = q + head * qs1;
    const int t0 = first + warp * 16 + g, t1 = t0 + 8;
    const bool q_pairs = dim % 2 == 0 && qs0 % 2 == 0 && (reinterpret_cast<uintptr_t>(q_head) & 7) == 0;
    float2 qx[KSTEPS][4];
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int t = e & 1 ? t1 : t0, col = kk * 16 + (e >> 1) * 8 + 2 * c;
            const float* p = q_head + t * qs0 + col;
            if (q_pairs) {
                qx[kk][e] = t < tokens && col < dim ? *reinterpret_cast<const float2*>(p) : make_float2(0.f, 0.f);
            } else {
                qx[kk][e] = make_float2(t < tokens && col < dim ? p[0] : 0.f, t < tokens && col + 1 < dim ? p[1] : 0.f);
            }
        }
    }

    const uint16_t* k_head = k + (long long)head * keys * DP;
    const uint16_t* v_head = v + (long long)head * keys * DP;
    // Rows of LD < DP dims: the last V row's reads past its LD dims land on these 16 bytes (zeros: see below).
    if constexpr (LD < DP) {
        if (threadIdx.x == 0) *reinterpret_cast<uint4*>(vsh + tiles * TILE) = make_uint4(0u, 0u, 0u, 0u);
    }
    for (int r = 0; r < rounds; r++) {
#pragma unroll
        for (int i = 0; i < KSPLIT; i++) {
            const int tile = r * KSPLIT + i;
            if (tile < tiles) {
                copy_tile16<DP, THREADS, LD, CHUNKS>(ks + tile * TILE, k_head, tile * MMA_BK, keys);
                copy_tile16<DP, THREADS, LD, CHUNKS>(vsh + tile * TILE, v_head, tile * MMA_BK, keys);
            }
        }
        cp_async_commit();
    }
    uint32_t qa[KSTEPS][4];
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++) {
#pragma unroll
        for (int e = 0; e < 4; e++) qa[kk][e] = pack2<T>(qx[kk][e].x, qx[kk][e].y);
    }


    const float scale_log2 = scale * LOG2E;
    const int vis0 = t0 < tokens ? keys : 0, vis1 = t1 < tokens ? keys : 0;
    const uint32_t ks_addr = static_cast<uint32_t>(__cvta_generic_to_shared(ks));
    const uint32_t vs_addr = static_cast<uint32_t>(__cvta_generic_to_shared(vsh));
    // This lane's ldmatrix addresses in tile 0, as attention_mma_packed's k_lane and v_lane.
    const uint32_t k_lane = ks_addr + (((lane & 7) + ((lane >> 4) << 3)) * LD + ((lane >> 3) & 1) * 8) * 2;
    const uint32_t v_lane = vs_addr + (((lane & 7) + ((lane >> 3) & 1) * 8) * LD + (lane >> 4) * 8) * 2;

    float o[DTILES][4];
#pragma unroll
    for (int n = 0; n < DTILES; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    // Round it: this thread's groups 0..it have landed once at most rounds - 1 - it are pending; the barrier makes
    // every thread's copies of the round visible. Nothing is ever copied over a tile, so no other barrier.
    // This group's tile of the round: it KSPLIT + group, its first key j0 (from `keys` on for a warp without a
    // query row: it walks none) and its K and V addresses.
    int j0 = first + warp * 16 < tokens ? group * MMA_BK : keys;
    uint32_t k_tile = k_lane + group * TILE * 2, v_tile = v_lane + group * TILE * 2;
    for (int it = 0; it < rounds; it++) {
        cp_async_wait_pending<7>(rounds - 1 - it);
        __syncthreads();
        // The last round may have no tile for this group.
        if (j0 < keys) {
            attend_key_tile<DP, T, LD>(qa, k_tile, v_tile, j0, vis0, vis1, scale_log2, c, o, m0, m1, l0, l1);
        }
        j0 += KSPLIT * MMA_BK;
        k_tile += KSPLIT * TILE * 2;
        v_tile += KSPLIT * TILE * 2;
    }

    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    if constexpr (KSPLIT > 1) {
        if (!merge_key_groups<DP, QWARPS, KSPLIT, 1>(reinterpret_cast<float*>(mma_smem), group, o, m0, m1, l0, l1)) {
            return;
        }
    }
    const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
    store_image_rows<DP, T>(out, head, tokens, heads_per_image, dim, t0, t1, c, o, inv0, inv1);
}

#define ATTENTION_MMA_IMAGES_RESIDENT(NAME, DP, LD, QWARPS, KSPLIT, T)                                           \
    extern "C" __global__ void __launch_bounds__(QWARPS * KSPLIT * 32, 1)                                        \
    NAME(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v, uint16_t* out,      \
         int tokens, int keys, int dim, float scale, int heads_per_image) {                                      \
        grid_dependency_wait();                                                                                  \
        attention_mma_images_resident<DP, LD, QWARPS, KSPLIT, T>(q, qs0, qs1, k, v, out, tokens, keys, dim,      \
                                                                 scale, heads_per_image);                        \
    }

// d64: 5 query warps (80 rows: one CLIP image is 8 x 16 = 128 blocks); d80 (SigLIP's 72 dims): rows of 72 dims
// (LD 72, 221 KB at 729 keys), 6 query warps (96 rows: one SigLIP image is 8 x 16 = 128 blocks). 3 key-split warps
// (15 warps, 128 registers) measured slower on CLIP (H200, 2026-11-29: 17.34 us against 2 warps' 16.82, the pack
// kernel included) and went.
#define ATTENTION_MMA_IMAGES_RESIDENT_SHAPES(T, TN)                                                              \
    ATTENTION_MMA_IMAGES_RESIDENT(attention_mma_images_resident_##TN##_d64_q5s2, 64, 72, 5, 2, T)                \
    ATTENTION_MMA_IMAGES_RESIDENT(attention_mma_images_resident_##TN##_d80_q6s2, 80, 72, 6, 2, T)

ATTENTION_MMA_IMAGES_RESIDENT_SHAPES(__nv_bfloat16, bf16)
ATTENTION_MMA_IMAGES_RESIDENT_SHAPES(__half, f16)
