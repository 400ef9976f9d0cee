// Prefill attention on tensor cores in 16-bit (FlashAttention-2 style): Q K^T and P V as
// mma.sync m16n8k16 products of bf16 or f16 operands accumulated in F32, with the online softmax
// (running max and sum, log2 domain) held in registers. Q, K, V and the probabilities are rounded
// to the 16-bit type (round to nearest); scores, softmax statistics and the output stay F32, as in
// HF's bf16/f16 scaled_dot_product_attention.
//
// Two kernels per call. attention_mma_pack_<t>_d<DP> rounds K and V once into 16-bit [Hkv, S, DP]
// (one bandwidth-bound pass that writes each kv head once, however many query heads share it), unless
// K and V already are 16-bit rows of DP values: attention_mma_cache_<t>_d<64|128>_<shape> read a
// 16-bit KV cache [Hkv, capacity, D] with D = DP in place (the same pass, head_rows = capacity);
// attention_mma_packed_<t>_d<DP>_w<WARPS> then cp.async's 16-bit key tiles of 64 straight into the
// ldmatrix layout (no F32 staging, no conversion pass), K and V double-buffered, one barrier per
// key tile. DP is the head dim padded to a multiple of 16 (dims past `dim` are zero).
//
// attention_mma_packed_*: scale > 0 (CudaAttention sends other scales to the F32 kernel of
// attention.cu). q F32 [T, Hq, D], last dim packed, rows and heads at the given element strides,
// rounded to 16 bits as the block loads it, once; k and v 16-bit rows of DP values, key j of kv head
// h at k + h * head_stride + j * DP (the pack kernel's output: head_stride = S * DP; a KV cache:
// capacity * D; 16-byte aligned); out F32 packed
// [T, Hq, D]; lse (optional) [Hq, T] natural-log log-sum-exps. query_start < 0 means
// bidirectional; else query t sees keys [0, query_start + t]. kv head = head / (Hq / Hkv).
// Block = WARPS warps (4 or 8) over 16 WARPS consecutive queries of one query head (16 rows per
// warp), grid (ceil(T / (16 WARPS)), Hq). Dynamic shared memory: K tiles [2][64][DP + 8] then V
// tiles [2][64][DP + 8], 16-bit (row pitch an odd multiple of 16 bytes, so ldmatrix reads are free
// of bank conflicts); the query tile [16 WARPS][DP + 8] borrows the K tiles before the first key
// tile is copied, and the queries then live in registers as A fragments.
// attention_mma_packed_<t>_d<DP>_w4x2 (end of attention_mma.cu) is the same pass in FlashAttention-2's
// block shape: 4 warps of two 16-row m-tiles each.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 with 16-bit operands; g = lane / 4, c = lane % 4):
//   A (16x16, row): a0 = (g, 2c..2c+1), a1 = (g+8, 2c..), a2 = (g, 8+2c..), a3 = (g+8, 8+2c..)
//   B (16x8, col):  b0 = (k 2c..2c+1, n g), b1 = (k 8+2c.., n g)
//   C (16x8, F32):  c0,c1 = (g, 2c..2c+1), c2,c3 = (g+8, 2c..2c+1)
#pragma once
#include "common.cuh"
#include "cp_async.cuh"

#define MMA_BK 64

__device__ __forceinline__ int mma_visible_keys(int t, int s, int query_start) {
    return query_start < 0 ? s : min(s, query_start + t + 1);
}

// Two F32 values rounded to nearest into one register of two 16-bit values, `lo` in the low half
// (the element of the lower column / k index in a fragment).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// Images-as-heads output (attention_mma_images_*): the q_heads heads are images side by side,
// heads_per_image each (head = image * heads_per_image + h), and query row t of head `head` goes to
// the 16-bit image-major row of out [images, T, heads_per_image * dim] it occupies in the next
// layer's input (image_major_head: the head's row 0, rows heads_per_image * dim apart), two values
// per 32-bit store where dim is even and out 4-byte aligned (store_pair16: rounded to nearest even
// as pack2 rounds, the bits an F32 output row copied to 16 bits gets).
__device__ __forceinline__ uint16_t* image_major_head(uint16_t* out, int head, int tokens, int heads_per_image,
                                                      int dim) {
    const int image = head / heads_per_image;
    return out + ((long long)image * tokens * heads_per_image + (head - image * heads_per_image)) * dim;
}

template <typename T>
__device__ __forceinline__ void store_pair16(uint16_t* orow, bool pairs, int dim, int d, float x0, float x1) {
    const uint32_t packed = pack2<T>(x0, x1);
    if (pairs) {
        if (d < dim) *reinterpret_cast<uint32_t*>(orow + d) = packed;
    } else {
        if (d < dim) orow[d] = static_cast<uint16_t>(packed & 0xffffu);
        if (d + 1 < dim) orow[d + 1] = static_cast<uint16_t>(packed >> 16);
    }
}

// d += a b for one m16n8k16 tile.
template <typename T>
__device__ __forceinline__ void mma16816(float* d, const uint32_t* a, uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma16816<__half>(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8x8 16-bit matrices from shared memory; lanes 8i..8i+7 address the rows of matrix i, whose
// fragment lands in r[i]. volatile + memory clobber: the tiles change between __syncthreads while
// the addresses do not, so the compiler must neither hoist nor merge these loads.
__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t* r, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
}

// 2^x by the SFU alone (ex2.approx.ftz: about 2 ulp; results below 2^-126 flush to zero, which no
// softmax sum of at least 1 can see). exp2f compiles to the non-ftz form, whose denormal fix-ups
// cost three more instructions per call, and the softmax is the issue-bound part of a key tile.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Whether an operand's rows can be read as float4s: packed dims a multiple of 4 and 16-byte rows.
__device__ __forceinline__ bool vec_rows(const float* base, long long s0, int dim) {
    return dim % 4 == 0 && s0 % 4 == 0 && (reinterpret_cast<uintptr_t>(base) & 15) == 0;
}

// F32 [rows, heads, dim] (element strides s0, s1, last dim packed) into 16-bit [heads, rows, DP]
// rounded to nearest, dims past `dim` zero. Grid (x, heads): head blockIdx.y, one thread per 8
// output values (16 bytes) of it, grid-stride over x; DP a compile-time constant so the index
// split is a multiply, and rows * DP / 8 < 2^31 (the host checks). dst is 16-byte aligned.
template <typename T, int DP>
__device__ __forceinline__ void pack_heads(const float* src, long long s0, long long s1, uint16_t* dst, int rows,
                                           int dim) {
    constexpr int CH = DP / 8;
    const int n = rows * CH;
    const float* head = src + blockIdx.y * s1;
    uint16_t* out = dst + (long long)blockIdx.y * rows * DP;
    const bool vec = dim % 4 == 0 && s0 % 4 == 0 && s1 % 4 == 0 && (reinterpret_cast<uintptr_t>(src) & 15) == 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const int r = i / CH, d0 = (i % CH) * 8;
        const float* row = head + r * s0;
        float x[8];
        if (vec) {
#pragma unroll
            for (int p = 0; p < 2; p++) {
                const int d = d0 + 4 * p;
                const float4 f = d < dim ? *reinterpret_cast<const float4*>(row + d) : make_float4(0.f, 0.f, 0.f, 0.f);
                x[4 * p] = f.x;
                x[4 * p + 1] = f.y;
                x[4 * p + 2] = f.z;
                x[4 * p + 3] = f.w;
            }
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) x[e] = d0 + e < dim ? row[d0 + e] : 0.f;
        }
        *reinterpret_cast<uint4*>(out + (long long)i * 8) =
            make_uint4(pack2<T>(x[0], x[1]), pack2<T>(x[2], x[3]), pack2<T>(x[4], x[5]), pack2<T>(x[6], x[7]));
    }
}

// Starts copying rows [first, first + 64) of a 16-bit [rows, DP] operand into a tile [64][LD] (default DP + 8),
// the first CH 16-byte chunks of each row (default all DP / 8), zeros at rows >= `rows` (never garbage: a garbage V
// times a zero probability can be NaN).
template <int DP, int THREADS, int LD = DP + 8, int CH = DP / 8>
__device__ __forceinline__ void copy_tile16(uint16_t* dst, const uint16_t* src, int first, int rows) {
    constexpr int N = MMA_BK * CH;
#pragma unroll 1
    for (int i = 0; i < (N + THREADS - 1) / THREADS; i++) {
        const int idx = threadIdx.x + i * THREADS;
        if (N % THREADS == 0 || idx < N) {
            const int j = idx / CH, col = (idx % CH) * 8, row = first + j;
            const bool in = row < rows;
            cp_async16(dst + j * LD + col, in ? src + (long long)row * DP + col : src, in ? 16 : 0);
        }
    }
}

// Queries [first, first + BQ) of an F32 [rows, dim] operand (row stride s0, head applied) rounded
// into a 16-bit tile [BQ][DP + 8], zeros past `rows` and `dim`. vec: see vec_rows.
template <int DP, int BQ, int THREADS, typename T>
__device__ __forceinline__ void load_queries(uint16_t* dst, const float* src, long long s0, int first, int rows,
                                             int dim, bool vec) {
    constexpr int V = DP / 4, LD = DP + 8;
#pragma unroll 1
    for (int idx = threadIdx.x; idx < BQ * V; idx += THREADS) {
        const int j = idx / V, col = (idx % V) * 4, row = first + j;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (row < rows && col < dim) {
            const float* p = src + row * s0 + col;
            if (vec) {
                x = *reinterpret_cast<const float4*>(p);
            } else {
                x.x = p[0];
                if (col + 1 < dim) x.y = p[1];
                if (col + 2 < dim) x.z = p[2];
                if (col + 3 < dim) x.w = p[3];
            }
        }
        *reinterpret_cast<uint2*>(dst + j * LD + col) = make_uint2(pack2<T>(x.x, x.y), pack2<T>(x.z, x.w));
    }
}

// Key-split blocks (attention_mma_packed_<t>_d<DP>_w<Q>s<KSPLIT>): for grids too small to fill the
// GPU (one CLIP-L/336 image: 577 queries x 16 heads is 160 blocks of 64 queries on 132 SMs, one or
// two blocks of 4 warps per SM, each warp walking all 10 key tiles one after the other, latency-bound)
// each 16-row query warp gets KSPLIT warps: warp `group` of a query warp walks key tiles group,
// group + KSPLIT, ... (one round = KSPLIT consecutive tiles, double-buffered as before: K and V
// tiles [2][KSPLIT][64][DP + 8]), so a block has KSPLIT times the warps and each warp 1 / KSPLIT of
// the serial key loop. At the end every group holds an unnormalised partial (row max m in the log2
// domain, row sum l, O); merge_key_groups combines them in shared memory in group order (group 0's
// then 1's ...: a fixed order, so the result does not depend on timing), O = sum_g 2^(m_g - m) O_g,
// l = sum_g 2^(m_g - m) l_g, m = max_g m_g. The scores and the rounding points are those of the
// one-group kernel; only the summation order of the P V products and row sums differs (the rescale
// of a partial is one F32 multiply), so the output matches it within the F32 accumulation's rounding.
// Groups 1.. store their partials [value][thread] (conflict-free, coalesced) over the K tiles, which
// the barrier before it frees; group 0 merges them and stores the rows; the others return (false).
// BUFFERS: rounds of K and V tiles the block holds (2: double-buffered; 1: one round, "Single-round
// key-split blocks" below).
//
// Single-round key-split blocks (BUFFERS = 1, the _w<Q>s<KSPLIT>b1 shapes): the K and V tiles of one
// round only ([KSPLIT][64][DP + 8] each, half the shared memory of the double-buffered shape), so an SM
// holds twice the blocks as far as shared memory goes (w2s2 at d80: 90 KB, two blocks per SM; w2s2b1: 45 KB,
// three, as many as its registers allow). The next
// round's tiles are copied after a barrier that retires every warp's reads of this round, so a block
// no longer overlaps its copies with its own mma work; the other blocks on the SM do. Where the keys
// fit in one round (a 74-row prefill is 2 key tiles) nothing else changes: the second buffer was never
// filled. The arithmetic is the double-buffered shape's, value for value.
template <int DP, int QWARPS, int KSPLIT, int BUFFERS = 2>
__device__ __forceinline__ bool merge_key_groups(float* smem, int group, float (&o)[DP / 8][4], float& m0, float& m1,
                                                 float& l0, float& l1) {
    constexpr int DTILES = DP / 8, VALUES = DTILES * 4 + 4, QT = QWARPS * 32;
    static_assert((KSPLIT - 1) * VALUES * QT * 4 <= 2 * BUFFERS * KSPLIT * MMA_BK * (DP + 8) * 2,
                  "the partials fit in the K and V tiles");
    const int qt = threadIdx.x % QT;
    cp_async_wait_all();
    __syncthreads(); // every warp's reads of its last tile are done
    if (group > 0) {
        float* p = smem + (group - 1) * VALUES * QT + qt;
#pragma unroll
        for (int n = 0; n < DTILES; n++) {
#pragma unroll
            for (int e = 0; e < 4; e++) p[(n * 4 + e) * QT] = o[n][e];
        }
        p[(DTILES * 4) * QT] = m0;
        p[(DTILES * 4 + 1) * QT] = m1;
        p[(DTILES * 4 + 2) * QT] = l0;
        p[(DTILES * 4 + 3) * QT] = l1;
    }
    __syncthreads();
    if (group > 0) return false;
#pragma unroll
    for (int gi = 1; gi < KSPLIT; gi++) {
        const float* p = smem + (gi - 1) * VALUES * QT + qt;
        const float pm0 = p[(DTILES * 4) * QT], pm1 = p[(DTILES * 4 + 1) * QT];
        const float new0 = fmaxf(m0, pm0), new1 = fmaxf(m1, pm1);
        // Rows with no visible key in either partial keep max -inf: subtract 0, so both factors are 0.
        const float base0 = new0 == -INFINITY ? 0.f : new0, base1 = new1 == -INFINITY ? 0.f : new1;
        const float a0 = fast_exp2(m0 - base0), a1 = fast_exp2(m1 - base1);
        const float b0 = fast_exp2(pm0 - base0), b1 = fast_exp2(pm1 - base1);
#pragma unroll
        for (int n = 0; n < DTILES; n++) {
            o[n][0] = o[n][0] * a0 + p[(n * 4) * QT] * b0;
            o[n][1] = o[n][1] * a0 + p[(n * 4 + 1) * QT] * b0;
            o[n][2] = o[n][2] * a1 + p[(n * 4 + 2) * QT] * b1;
            o[n][3] = o[n][3] * a1 + p[(n * 4 + 3) * QT] * b1;
        }
        l0 = l0 * a0 + p[(DTILES * 4 + 2) * QT] * b0;
        l1 = l1 * a1 + p[(DTILES * 4 + 3) * QT] * b1;
        m0 = new0;
        m1 = new1;
    }
    return true;
}

// A warp's two output rows t0 and t1 (rows past `tokens` skipped) of head `head`, O scaled by inv0 and inv1,
// rounded into their image-major 16-bit rows of out16 (image_major_head, store_pair16). c = lane % 4.
template <int DP, typename T>
__device__ __forceinline__ void store_image_rows(uint16_t* out16, int head, int tokens, int heads_per_image, int dim,
                                                 int t0, int t1, int c, const float (&o)[DP / 8][4], float inv0,
                                                 float inv1) {
    constexpr int DTILES = DP / 8;
    const bool pairs16 = dim % 2 == 0 && (reinterpret_cast<uintptr_t>(out16) & 3) == 0;
    uint16_t* out_head = image_major_head(out16, head, tokens, heads_per_image, dim);
    const int out_pitch = heads_per_image * dim;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int t = half == 0 ? t0 : t1;
        if (t >= tokens) continue;
        const float inv = half == 0 ? inv0 : inv1;
        uint16_t* orow = out_head + (long long)t * out_pitch;
#pragma unroll
        for (int n = 0; n < DTILES; n++) {
            store_pair16<T>(orow, pairs16, dim, n * 8 + 2 * c, o[n][2 * half] * inv, o[n][2 * half + 1] * inv);
        }
    }
}

// One warp's pass over one key tile of MMA_BK keys in shared memory (K and V tiles [64][DP + 8]; k_tile and
// v_tile: this lane's ldmatrix addresses in them, as attention_mma_packed computes k_lane and v_lane): S = Q K^T
// for the warp's 16 query rows (qa: their A fragments), keys j0 + n at or past vis0 (rows g) or vis1 (rows g + 8)
// masked, the online softmax update of the row maxima m (log2 domain), the partial row sums l and O, then
// O += P V. c = lane % 4. LD: the tiles' row pitch in 16-bit values (default DP + 8).
template <int DP, typename T, int LD = DP + 8>
__device__ __forceinline__ void attend_key_tile(const uint32_t (&qa)[DP / 16][4], uint32_t k_tile, uint32_t v_tile,
                                                int j0, int vis0, int vis1, float scale_log2, int c,
                                                float (&o)[DP / 8][4], float& m0, float& m1, float& l0, float& l1) {
    constexpr int KSTEPS = DP / 16;    // k-steps of Q K^T over the head dim
    constexpr int DTILES = DP / 8;     // n-tiles of the output over the head dim
    constexpr int NTILES = MMA_BK / 8; // n-tiles of the scores over a key tile

    // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
    float s[NTILES][4];
#pragma unroll
    for (int n = 0; n < NTILES; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++) {
#pragma unroll
        for (int np = 0; np < NTILES / 2; np++) {
            uint32_t b[4];
            ldmatrix_x4(b, k_tile + (np * 16 * LD + kk * 16) * 2);
            mma16816<T>(s[2 * np], qa[kk], b[0], b[1]);
            mma16816<T>(s[2 * np + 1], qa[kk], b[2], b[3]);
        }
    }

    // Online softmax in the log2 domain, x = score * scale * log2(e), p = 2^(x - m), in few
    // instructions per score: the scale (positive: the host sends other scales to the F32
    // kernel) is applied to the row max only, max(s) * a being max(s * a) for a > 0 under
    // monotone rounding, and folded into one fma per score, p = 2^(s a - m); and fast_exp2.
    const bool masked = j0 + MMA_BK > min(vis0, vis1);
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < NTILES; n++) {
        if (masked) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = j0 + n * 8 + 2 * c + (e & 1);
                s[n][e] = key < (e < 2 ? vis0 : vis1) ? s[n][e] : -INFINITY;
            }
        }
        mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
        mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float new0 = fmaxf(m0, mx0 * scale_log2), new1 = fmaxf(m1, mx1 * scale_log2);
    // A row with no visible key yet keeps max -inf: subtract 0 instead, so every p and the
    // correction are 2^-inf = 0, never 2^(-inf + inf) = NaN.
    const float base0 = new0 == -INFINITY ? 0.f : new0, base1 = new1 == -INFINITY ? 0.f : new1;
    const float corr0 = fast_exp2(m0 - base0), corr1 = fast_exp2(m1 - base1);
    m0 = new0;
    m1 = new1;
    float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
    for (int n = 0; n < NTILES; n++) {
        s[n][0] = fast_exp2(fmaf(s[n][0], scale_log2, -base0));
        s[n][1] = fast_exp2(fmaf(s[n][1], scale_log2, -base0));
        s[n][2] = fast_exp2(fmaf(s[n][2], scale_log2, -base1));
        s[n][3] = fast_exp2(fmaf(s[n][3], scale_log2, -base1));
        sum0 += s[n][0] + s[n][1];
        sum1 += s[n][2] + s[n][3];
    }
    l0 = l0 * corr0 + sum0;
    l1 = l1 * corr1 + sum1;
    // Once the row maxima settle, every correction is exactly 1 (2^0): the warp skips the
    // rescale (a uniform branch) unless some lane's max moved.
    if (__any_sync(0xffffffffu, corr0 != 1.f || corr1 != 1.f)) {
#pragma unroll
        for (int n = 0; n < DTILES; n++) {
            o[n][0] *= corr0;
            o[n][1] *= corr0;
            o[n][2] *= corr1;
            o[n][3] *= corr1;
        }
    }

    // O += P V.
#pragma unroll
    for (int kk = 0; kk < MMA_BK / 16; kk++) {
        uint32_t pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                          pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                          pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int np = 0; np < DTILES / 2; np++) {
            uint32_t b[4];
            ldmatrix_x4_trans(b, v_tile + (kk * 16 * LD + np * 16) * 2);
            mma16816<T>(o[2 * np], pa, b[0], b[1]);
            mma16816<T>(o[2 * np + 1], pa, b[2], b[3]);
        }
    }
}

// The query tile of attention_mma_packed (its Queries parameter): load rounds the block's queries [first, first + BQ)
// of q_head (F32 rows s0 apart) into the 16-bit tile dst [BQ][DP + 8], zeros past `tokens` and `dim`, before the
// block's first barrier; the remaining arguments (the pass's keys and query_start, the block's kv head) are for
// sources that also prepare the block's keys there (prefill_rope_attention.cu). PlainQueries: load_queries.
struct PlainQueries {
    template <int DP, int BQ, int THREADS, typename T>
    __device__ __forceinline__ void load(uint16_t* dst, const float* q_head, long long s0, int first, int tokens,
                                         int dim, int keys, int query_start, int kv_head) const {
        load_queries<DP, BQ, THREADS, T>(dst, q_head, s0, first, tokens, dim, vec_rows(q_head, s0, dim));
    }
};

// IMAGES: the output goes to out16 image-major (image_major_head, store_pair16) instead of out; out and lse unused.
// KSPLIT > 1 (the key-split shapes, "Key-split blocks" above): WARPS / KSPLIT query warps, each with
// KSPLIT warps that walk every KSPLIT-th key tile of its 16 rows; KSPLIT = 1 is the kernel the top of
// this file describes (the same code: every KSPLIT branch is resolved at compile time).
// Queries: where the query tile comes from (PlainQueries: q as it is). BUFFERS: 2, K and V tiles
// double-buffered across rounds; 1 (key split only), one round of tiles ("Single-round key-split blocks").
template <int DP, int WARPS, typename T, bool IMAGES = false, int KSPLIT = 1, typename Queries = PlainQueries,
          int BUFFERS = 2>
__device__ __forceinline__ void
attention_mma_packed(const float* q, long long qs0, long long qs1, const uint16_t* k, const uint16_t* v,
                     long long head_stride, float* out, float* lse, int tokens, int keys, int q_heads, int kv_heads,
                     int dim, float scale, int query_start, uint16_t* out16 = nullptr, int heads_per_image = 0,
                     const Queries& queries = Queries()) {
    static_assert(DP % 16 == 0 && DP <= 128, "padded head dim must be a multiple of 16, at most 128");
    static_assert(WARPS % KSPLIT == 0, "every query warp has KSPLIT key warps");
    static_assert(BUFFERS == 2 || (BUFFERS == 1 && KSPLIT > 1), "one round of tiles only for the key split");
    constexpr int QWARPS = WARPS / KSPLIT;
    constexpr int BQ = QWARPS * 16, THREADS = WARPS * 32;
    static_assert(BQ <= BUFFERS * KSPLIT * MMA_BK, "the query tile borrows the K tiles");
    constexpr int LD = DP + 8;
    constexpr int TILE = MMA_BK * LD;  // 16-bit values per K or V tile
    constexpr int KSTEPS = DP / 16;    // k-steps of Q K^T over the head dim
    constexpr int DTILES = DP / 8;     // n-tiles of the output over the head dim
    constexpr float LOG2E = 1.4426950408889634f;
    constexpr float LN2 = 0.6931471805599453f;
    extern __shared__ __align__(16) uint16_t mma_smem[];
    uint16_t* ks = mma_smem;                     // K tiles: BUFFERS buffers of KSPLIT tiles
    uint16_t* vsh = ks + BUFFERS * KSPLIT * TILE; // V tiles, as K's
    const int head = blockIdx.y;
    const int kv_head = head / (q_heads / kv_heads);
    // Causal blocks launch latest queries first: they walk the most key tiles, and starting them
    // early leaves the short blocks to fill the tail of the grid.
    const int first = (query_start < 0 ? blockIdx.x : gridDim.x - 1 - blockIdx.x) * BQ;
    // warp: this warp's 16 query rows (of QWARPS); group: which of the KSPLIT key tiles of a round it walks.
    const int lane = threadIdx.x & 31, warp = KSPLIT == 1 ? threadIdx.x >> 5 : (threadIdx.x >> 5) % QWARPS;
    const int group = KSPLIT == 1 ? 0 : (threadIdx.x >> 5) / QWARPS;
    const int g = lane >> 2, c = lane & 3;
    const float scale_log2 = scale * LOG2E;

    // Queries: rounded into the K tiles' space, then A fragments for every k-step of the head dim;
    // the second barrier retires those reads before the K tiles are copied over them.
    const float* q_head = q + head * qs1;
    queries.template load<DP, BQ, THREADS, T>(ks, q_head, qs0, first, tokens, dim, keys, query_start, kv_head);
    __syncthreads();
    uint32_t qa[KSTEPS][4];
    const uint32_t ks_addr = static_cast<uint32_t>(__cvta_generic_to_shared(ks));
    const uint32_t vs_addr = static_cast<uint32_t>(__cvta_generic_to_shared(vsh));
    {
        const int row = warp * 16 + (lane & 15), col = (lane >> 4) * 8;
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk++) ldmatrix_x4(qa[kk], ks_addr + (row * LD + kk * 16 + col) * 2);
    }
    __syncthreads();

    const int t0 = first + warp * 16 + g, t1 = t0 + 8;
    const int vis0 = t0 < tokens ? mma_visible_keys(t0, keys, query_start) : 0;
    const int vis1 = t1 < tokens ? mma_visible_keys(t1, keys, query_start) : 0;
    const int warp_last = min(tokens, first + warp * 16 + 16) - 1;
    const int warp_keys = warp_last >= first + warp * 16 ? mma_visible_keys(warp_last, keys, query_start) : 0;
    const int block_keys = mma_visible_keys(min(tokens, first + BQ) - 1, keys, query_start);
    const int tiles = (block_keys + MMA_BK - 1) / MMA_BK;
    const int rounds = KSPLIT == 1 ? tiles : (tiles + KSPLIT - 1) / KSPLIT; // KSPLIT key tiles per round

    float o[DTILES][4];
#pragma unroll
    for (int n = 0; n < DTILES; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f; // l: this thread's partial row sums

    const uint16_t* k_head = k + (long long)kv_head * head_stride;
    const uint16_t* v_head = v + (long long)kv_head * head_stride;
    if constexpr (KSPLIT == 1) {
        if (tiles > 0) {
            copy_tile16<DP, THREADS>(ks, k_head, 0, keys);
            copy_tile16<DP, THREADS>(vsh, v_head, 0, keys);
        }
    } else {
#pragma unroll
        for (int i = 0; i < KSPLIT; i++) {
            if (i < tiles) {
                copy_tile16<DP, THREADS>(ks + i * TILE, k_head, i * MMA_BK, keys);
                copy_tile16<DP, THREADS>(vsh + i * TILE, v_head, i * MMA_BK, keys);
            }
        }
    }
    cp_async_commit();
    // Fragment addresses within tile 0; tile 1 is TILE values further. K: rows (keys) n0 + (lane & 7)
    // + 8 (lane / 16), cols k0 + 8 ((lane / 8) & 1): regs {0, 1} = b0, b1 of key n-tile n0, {2, 3} =
    // b0, b1 of n-tile n0 + 8. V (transposed): rows (keys) k0 + (lane & 7) + 8 ((lane / 8) & 1), cols
    // (dims) n0 + 8 (lane / 16): regs {0, 1} = b0, b1 of dim n-tile n0, {2, 3} of n-tile n0 + 8.
    const uint32_t k_lane = ks_addr + (((lane & 7) + ((lane >> 4) << 3)) * LD + ((lane >> 3) & 1) * 8) * 2;
    const uint32_t v_lane = vs_addr + (((lane & 7) + ((lane >> 3) & 1) * 8) * LD + (lane >> 4) * 8) * 2;

    // Per key tile: wait for its copy; the barrier makes every thread's copies visible and retires
    // every warp's reads of the other buffer (the previous tile), which the next copy then fills
    // while this tile is multiplied.
    // One buffer (BUFFERS = 1): round it > 0 first waits for every warp to finish the previous round
    // (the barrier), then copies its tiles over it, and the wait and barrier below make them visible.
    for (int it = 0; it < rounds; it++) {
        const int j0 = KSPLIT == 1 ? it * MMA_BK : (it * KSPLIT + group) * MMA_BK, buf = BUFFERS == 1 ? 0 : it & 1;
        if constexpr (BUFFERS == 1) {
            if (it > 0) {
                __syncthreads();
#pragma unroll
                for (int i = 0; i < KSPLIT; i++) {
                    const int tile = it * KSPLIT + i;
                    if (tile < tiles) {
                        copy_tile16<DP, THREADS>(ks + i * TILE, k_head, tile * MMA_BK, keys);
                        copy_tile16<DP, THREADS>(vsh + i * TILE, v_head, tile * MMA_BK, keys);
                    }
                }
                cp_async_commit();
            }
        }
        cp_async_wait_all();
        __syncthreads();
        if constexpr (BUFFERS == 2) {
            if constexpr (KSPLIT == 1) {
                if (it + 1 < tiles) {
                    copy_tile16<DP, THREADS>(ks + (buf ^ 1) * TILE, k_head, j0 + MMA_BK, keys);
                    copy_tile16<DP, THREADS>(vsh + (buf ^ 1) * TILE, v_head, j0 + MMA_BK, keys);
                }
            } else {
#pragma unroll
                for (int i = 0; i < KSPLIT; i++) {
                    const int next = (it + 1) * KSPLIT + i;
                    if (next < tiles) {
                        copy_tile16<DP, THREADS>(ks + ((buf ^ 1) * KSPLIT + i) * TILE, k_head, next * MMA_BK, keys);
                        copy_tile16<DP, THREADS>(vsh + ((buf ^ 1) * KSPLIT + i) * TILE, v_head, next * MMA_BK, keys);
                    }
                }
            }
            cp_async_commit();
        }
        // Every row of this warp is past this tile (causal), no row is a query, or (key split) the
        // last round has no tile for this group (j0 >= block_keys >= warp_keys).
        if (j0 >= warp_keys) continue;
        const int slot = KSPLIT == 1 ? buf : buf * KSPLIT + group;
        const uint32_t k_tile = k_lane + slot * TILE * 2, v_tile = v_lane + slot * TILE * 2;
        attend_key_tile<DP, T>(qa, k_tile, v_tile, j0, vis0, vis1, scale_log2, c, o, m0, m1, l0, l1);
    }

    // Row sums over the quad (the four lanes of a row), then O / l.
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    if constexpr (KSPLIT > 1) {
        if (!merge_key_groups<DP, QWARPS, KSPLIT, BUFFERS>(reinterpret_cast<float*>(mma_smem), group, o, m0, m1, l0,
                                                           l1)) {
            return;
        }
    }
    const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
    if constexpr (IMAGES) {
        store_image_rows<DP, T>(out16, head, tokens, heads_per_image, dim, t0, t1, c, o, inv0, inv1);
        return;
    }
    const bool pairs = dim % 2 == 0 && (reinterpret_cast<uintptr_t>(out) & 7) == 0;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int t = half == 0 ? t0 : t1;
        if (t >= tokens) continue;
        const float inv = half == 0 ? inv0 : inv1;
        float* orow = out + ((long long)t * q_heads + head) * dim;
#pragma unroll
        for (int n = 0; n < DTILES; n++) {
            const int d = n * 8 + 2 * c;
            const float x0 = o[n][2 * half] * inv, x1 = o[n][2 * half + 1] * inv;
            if (pairs) {
                if (d < dim) *reinterpret_cast<float2*>(orow + d) = make_float2(x0, x1);
            } else {
                if (d < dim) orow[d] = x0;
                if (d + 1 < dim) orow[d + 1] = x1;
            }
        }
        if (lse != nullptr && c == 0) {
            const float m = half == 0 ? m0 : m1, l = half == 0 ? l0 : l1;
            lse[(long long)head * tokens + t] = m * LN2 + logf(l);
        }
    }
}
