// Scaled dot-product attention with grouped kv heads, flash-style: one pass over key tiles with an
// online softmax, F32 throughout. q [T, Hq, D], k/v [S, Hkv, D] with the last dim packed and the
// other two dims at the given element strides; out packed [T, Hq, D].
//
// Block = ATT_WARPS warps over ATT_QPW * ATT_WARPS consecutive queries of one query head; each
// warp owns ATT_QPW queries; lane j scores key j of the current 32-key tile, lanes own output dims
// lane + 32 i for the P V product. query_start < 0 means bidirectional; else query t sees keys
// [0, query_start + t].
#include "common.cuh"

#define ATT_MAX_D 256
#define ATT_TILE 32
#define ATT_WARPS 8
#define ATT_QPW 2
#define ATT_QUERIES (ATT_WARPS * ATT_QPW)

__device__ __forceinline__ int visible_keys(int t, int s, int query_start) {
    return query_start < 0 ? s : min(s, query_start + t + 1);
}

// Dynamic shared memory: K tile [32][D + 1], V tile [32][D], queries [16][D].
__device__ __forceinline__ void
attention_tiles(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                const float* v, long long vs0, long long vs1, float* out, float* lse,
                int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {
    extern __shared__ float smem[];
    float* ks = smem;
    float* vsh = ks + ATT_TILE * (dim + 1);
    float* qsh = vsh + ATT_TILE * dim;
    const int head = blockIdx.y;
    const int kv_head = head / (q_heads / kv_heads);
    const int first = blockIdx.x * ATT_QUERIES;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (int idx = threadIdx.x; idx < ATT_QUERIES * dim; idx += blockDim.x) {
        int qi = idx / dim, d = idx % dim, t = first + qi;
        qsh[idx] = t < tokens ? q[t * qs0 + head * qs1 + d] : 0.f;
    }
    int last_t = min(tokens, first + ATT_QUERIES) - 1;
    int block_keys = visible_keys(last_t, keys, query_start);

    float m[ATT_QPW], l[ATT_QPW], acc[ATT_QPW][ATT_MAX_D / 32];
#pragma unroll
    for (int qi = 0; qi < ATT_QPW; qi++) {
        m[qi] = -INFINITY;
        l[qi] = 0.f;
#pragma unroll
        for (int i = 0; i < ATT_MAX_D / 32; i++) acc[qi][i] = 0.f;
    }

    for (int j0 = 0; j0 < block_keys; j0 += ATT_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATT_TILE * dim; idx += blockDim.x) {
            int j = idx / dim, d = idx % dim, key = j0 + j;
            bool in = key < keys;
            ks[j * (dim + 1) + d] = in ? k[key * ks0 + kv_head * ks1 + d] : 0.f;
            vsh[j * dim + d] = in ? v[key * vs0 + kv_head * vs1 + d] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int qi = 0; qi < ATT_QPW; qi++) {
            int slot = warp * ATT_QPW + qi, t = first + slot;
            if (t >= tokens) continue;
            int vis = visible_keys(t, keys, query_start);
            if (j0 >= vis) continue;
            const float* qrow = qsh + slot * dim;
            const float* krow = ks + lane * (dim + 1);
            float dot = 0.f;
            for (int d = 0; d < dim; d++) dot += qrow[d] * krow[d];
            float score = j0 + lane < vis ? dot * scale : -INFINITY;
            float m_new = fmaxf(m[qi], warp_max(score));
            float corr = expf(m[qi] - m_new);
            float p = expf(score - m_new);
            l[qi] = l[qi] * corr + warp_sum(p);
            m[qi] = m_new;
#pragma unroll
            for (int i = 0; i < ATT_MAX_D / 32; i++) acc[qi][i] *= corr;
            for (int j = 0; j < ATT_TILE; j++) {
                float pj = __shfl_sync(0xffffffffu, p, j);
                const float* vrow = vsh + j * dim;
#pragma unroll
                for (int i = 0; i < ATT_MAX_D / 32; i++) {
                    int d = lane + 32 * i;
                    if (d < dim) acc[qi][i] += pj * vrow[d];
                }
            }
        }
    }
#pragma unroll
    for (int qi = 0; qi < ATT_QPW; qi++) {
        int t = first + warp * ATT_QPW + qi;
        if (t >= tokens) continue;
        float inv = l[qi] > 0.f ? 1.f / l[qi] : 0.f;
        float* orow = out + ((long long)t * q_heads + head) * dim;
#pragma unroll
        for (int i = 0; i < ATT_MAX_D / 32; i++) {
            int d = lane + 32 * i;
            if (d < dim) orow[d] = acc[qi][i] * inv;
        }
        if (lse != nullptr && lane == 0) lse[(long long)head * tokens + t] = m[qi] + logf(l[qi]);
    }
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_forward(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                  const float* v, long long vs0, long long vs1, float* out, float* lse,
                  int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {
    attention_tiles(q, qs0, qs1, k, ks0, ks1, v, vs0, vs1, out, lse, tokens, keys, q_heads, kv_heads, dim, scale,
                    query_start);
}

// Softmax rows of chosen queries: row_probs [Hq, R, S], zero for masked keys. Grid (R, Hq).
extern "C" __global__ void attention_capture_rows(const float* q, long long qs0, long long qs1, const float* k,
                                                  long long ks0, long long ks1, const int* rows, int row_count,
                                                  float* row_probs, int keys, int q_heads, int kv_heads, int dim,
                                                  float scale, int query_start) {
    extern __shared__ float qrow[];
    __shared__ float scratch[32];
    const int r = blockIdx.x, head = blockIdx.y, t = rows[r];
    const int kv_head = head / (q_heads / kv_heads);
    for (int d = threadIdx.x; d < dim; d += blockDim.x) qrow[d] = q[t * qs0 + head * qs1 + d];
    __syncthreads();
    int vis = visible_keys(t, keys, query_start);
    float* dst = row_probs + ((long long)head * row_count + r) * keys;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        float s = -INFINITY;
        if (j < vis) {
            const float* kr = k + j * ks0 + kv_head * ks1;
            float dot = 0.f;
            for (int d = 0; d < dim; d++) dot += qrow[d] * kr[d];
            s = dot * scale;
        }
        dst[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, scratch);
    float sum = 0.f;
    for (int j = threadIdx.x; j < vis; j += blockDim.x) sum += expf(dst[j] - mx);
    sum = block_sum(sum, scratch);
    for (int j = threadIdx.x; j < keys; j += blockDim.x) dst[j] = j < vis ? expf(dst[j] - mx) / sum : 0.f;
}

// Attention received by each key summed over all queries: column_sums [Hq, S], from the row
// log-sum-exps [Hq, T] that attention_forward wrote. Grid (ceil(S / 32), Hq), ATT_WARPS warps:
// lane j owns key j of the block's tile, warps split the queries.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_column_sums(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                      const float* lse, float* column_sums, int tokens, int keys, int q_heads, int kv_heads,
                      int dim, float scale, int query_start) {
    extern __shared__ float smem[];
    float* ks = smem;
    float* qsh = ks + ATT_TILE * (dim + 1);
    __shared__ float partial[ATT_WARPS][ATT_TILE];
    const int head = blockIdx.y, j0 = blockIdx.x * ATT_TILE;
    const int kv_head = head / (q_heads / kv_heads);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int idx = threadIdx.x; idx < ATT_TILE * dim; idx += blockDim.x) {
        int j = idx / dim, d = idx % dim, key = j0 + j;
        ks[j * (dim + 1) + d] = key < keys ? k[key * ks0 + kv_head * ks1 + d] : 0.f;
    }
    __syncthreads();
    const int key = j0 + lane;
    float* qrow = qsh + warp * dim;
    const float* krow = ks + lane * (dim + 1);
    float total = 0.f;
    int first_t = query_start < 0 ? 0 : max(0, j0 - query_start);
    for (int t = first_t + warp; t < tokens; t += ATT_WARPS) {
        __syncwarp();
        for (int d = lane; d < dim; d += 32) qrow[d] = q[t * qs0 + head * qs1 + d];
        __syncwarp();
        float dot = 0.f;
        for (int d = 0; d < dim; d++) dot += qrow[d] * krow[d];
        if (key < visible_keys(t, keys, query_start)) total += expf(dot * scale - lse[(long long)head * tokens + t]);
    }
    partial[warp][lane] = total;
    __syncthreads();
    if (warp == 0 && key < keys) {
        float s = 0.f;
        for (int w = 0; w < ATT_WARPS; w++) s += partial[w][lane];
        column_sums[(long long)head * keys + key] = s;
    }
}

// Prefill attention on tensor cores (attention_forward_tc<DP>): the same flash-style pass (key
// tiles, online softmax, F32 statistics and output) with Q K^T and P V as wmma m16n16k8 3xTF32
// products: each operand x is split into hi = tf32(x) and lo = tf32(x - hi) and a b is summed as
// hi*hi + hi*lo + lo*hi, which keeps F32-level accuracy (the CPU parity tolerances hold) at three
// tensor-core products per step. Models with BF16/F16 weights run attention_mma.cu instead, unless
// the pass is captured.
//
// Block = 4 warps over 64 consecutive queries of one query head (16 per warp); key tiles of 64.
// TC_DP is the head dim padded to a multiple of 16 (dims past `dim` are zero). Dynamic shared
// memory: K tile [64][DP + 4], V tile [64][DP + 4], output [64][DP + 4], scores [64][68].
#include <mma.h>

#define TC_BQ 64
#define TC_BK 64
#define TC_WARPS 4
#define TC_LDS (TC_BK + 4)

namespace wmma = nvcuda::wmma;

template <typename Frag>
__device__ __forceinline__ void split_tf32(const Frag& raw, Frag& hi, Frag& lo) {
#pragma unroll
    for (int i = 0; i < raw.num_elements; i++) {
        float x = raw.x[i];
        float h = wmma::__float_to_tf32(x);
        hi.x[i] = h;
        lo.x[i] = wmma::__float_to_tf32(x - h);
    }
}

// One key tile of a [keys, dim] operand (row stride s0, head already applied; dim, s0 and src
// multiples of 16 bytes) into shared memory [TC_BK][DP + 4], zero past `keys` and past `dim`, in
// float4 loads: each thread issues half of its loads before storing any, so the tile costs two
// memory round trips instead of one per few scalar loads. The group loop stays rolled so the
// kernels, which hold the queries' fragments in registers, do not spill; at DP 128 the kernel (hi
// and lo query fragments) already uses every register, so it keeps its scalar loads there.
template <int DP>
__device__ __forceinline__ void load_key_tile(float* dst, const float* src, long long s0, int j0, int keys, int dim) {
    constexpr int LD = DP + 4;
    constexpr int V = DP / 4;
    constexpr int PER_THREAD = TC_BK * V / (TC_WARPS * 32);
    constexpr int GROUP = PER_THREAD / 2;
    static_assert(TC_BK * V % (TC_WARPS * 32) == 0 && PER_THREAD % GROUP == 0,
                  "tile float4s must divide over the block in whole groups");
#pragma unroll 1
    for (int g = 0; g < PER_THREAD; g += GROUP) {
        float4 r[GROUP];
#pragma unroll
        for (int i = 0; i < GROUP; i++) {
            int idx = threadIdx.x + (g + i) * TC_WARPS * 32;
            int j = idx / V, c = (idx % V) * 4, key = j0 + j;
            r[i] = key < keys && c < dim ? *reinterpret_cast<const float4*>(src + key * s0 + c)
                                         : make_float4(0.f, 0.f, 0.f, 0.f);
        }
#pragma unroll
        for (int i = 0; i < GROUP; i++) {
            int idx = threadIdx.x + (g + i) * TC_WARPS * 32;
            int j = idx / V, c = (idx % V) * 4;
            *reinterpret_cast<float4*>(dst + j * LD + c) = r[i];
        }
    }
}

template <int DP>
__device__ __forceinline__ void
attention_tc(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
             const float* v, long long vs0, long long vs1, float* out, float* lse,
             int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {
    constexpr int LD = DP + 4;
    constexpr int KSTEPS = DP / 8;
    extern __shared__ __align__(32) float tc_smem[];
    float* ks = tc_smem;
    float* vsh = ks + TC_BK * LD;
    float* os = vsh + TC_BK * LD;
    float* ss = os + TC_BQ * LD;
    const int head = blockIdx.y;
    const int kv_head = head / (q_heads / kv_heads);
    const int first = blockIdx.x * TC_BQ;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float* s_w = ss + warp * 16 * TC_LDS;
    float* o_w = os + warp * 16 * LD;

    // Queries staged through the K tile, then held as hi/lo fragments; the output starts at zero.
    for (int idx = threadIdx.x; idx < TC_BQ * DP; idx += blockDim.x) {
        int qi = idx / DP, d = idx % DP, t = first + qi;
        ks[qi * LD + d] = t < tokens && d < dim ? q[t * qs0 + head * qs1 + d] : 0.f;
        os[qi * LD + d] = 0.f;
    }
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> qh[KSTEPS], ql[KSTEPS];
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> raw;
        wmma::load_matrix_sync(raw, ks + warp * 16 * LD + kk * 8, LD);
        split_tf32(raw, qh[kk], ql[kk]);
    }

    // Softmax lanes: two per query row (r = lane / 2), each over every other key of the tile.
    const int r = lane >> 1, half = lane & 1;
    const int t_row = first + warp * 16 + r;
    const int vis_row = t_row < tokens ? visible_keys(t_row, keys, query_start) : 0;
    float m = -INFINITY, l = 0.f;
    int last_t = min(tokens, first + TC_BQ) - 1;
    int block_keys = visible_keys(last_t, keys, query_start);

    const float* k_head = k + kv_head * ks1;
    const float* v_head = v + kv_head * vs1;
    const bool vec = DP <= 80 && dim % 4 == 0 && ks0 % 4 == 0 && vs0 % 4 == 0
            && (reinterpret_cast<uintptr_t>(k_head) & 15) == 0 && (reinterpret_cast<uintptr_t>(v_head) & 15) == 0;
    for (int j0 = 0; j0 < block_keys; j0 += TC_BK) {
        __syncthreads();
        if (vec) {
            load_key_tile<DP>(ks, k_head, ks0, j0, keys, dim);
            load_key_tile<DP>(vsh, v_head, vs0, j0, keys, dim);
        } else {
            for (int idx = threadIdx.x; idx < TC_BK * DP; idx += blockDim.x) {
                int j = idx / DP, d = idx % DP, key = j0 + j;
                bool in = key < keys && d < dim;
                ks[j * LD + d] = in ? k[key * ks0 + kv_head * ks1 + d] : 0.f;
                vsh[j * LD + d] = in ? v[key * vs0 + kv_head * vs1 + d] : 0.f;
            }
        }
        __syncthreads();

        // Scores of this warp's 16 queries against the 64 keys.
#pragma unroll
        for (int n = 0; n < TC_BK / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
            wmma::fill_fragment(acc, 0.f);
#pragma unroll
            for (int kk = 0; kk < KSTEPS; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> raw, bh, bl;
                wmma::load_matrix_sync(raw, ks + n * 16 * LD + kk * 8, LD);
                split_tf32(raw, bh, bl);
                wmma::mma_sync(acc, ql[kk], bh, acc);
                wmma::mma_sync(acc, qh[kk], bl, acc);
                wmma::mma_sync(acc, qh[kk], bh, acc);
            }
            wmma::store_matrix_sync(s_w + n * 16, acc, TC_LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax of row r; probabilities replace the scores.
        float* srow = s_w + r * TC_LDS;
        float mx = -INFINITY;
#pragma unroll 8
        for (int c = 0; c < TC_BK / 2; c++) {
            int j = 2 * c + half;
            float s = j0 + j < vis_row ? srow[j] * scale : -INFINITY;
            srow[j] = s;
            mx = fmaxf(mx, s);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        float m_new = fmaxf(m, mx);
        float corr = m_new == -INFINITY ? 1.f : expf(m - m_new);
        float sum = 0.f;
#pragma unroll 8
        for (int c = 0; c < TC_BK / 2; c++) {
            int j = 2 * c + half;
            float p = j0 + j < vis_row ? expf(srow[j] - m_new) : 0.f;
            srow[j] = p;
            sum += p;
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * corr + sum;
        m = m_new;
        if (corr != 1.f) {
            float* orow = o_w + r * LD;
            for (int d = half; d < DP; d += 2) orow[d] *= corr;
        }
        __syncwarp();

        // Output rows += P V.
#pragma unroll
        for (int cn = 0; cn < DP / 16; cn++) {
            wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
            wmma::load_matrix_sync(acc, o_w + cn * 16, LD, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < TC_BK / 8; kk++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> araw, ah, al;
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> braw, bh, bl;
                wmma::load_matrix_sync(araw, s_w + kk * 8, TC_LDS);
                wmma::load_matrix_sync(braw, vsh + kk * 8 * LD + cn * 16, LD);
                split_tf32(araw, ah, al);
                split_tf32(braw, bh, bl);
                wmma::mma_sync(acc, al, bh, acc);
                wmma::mma_sync(acc, ah, bl, acc);
                wmma::mma_sync(acc, ah, bh, acc);
            }
            wmma::store_matrix_sync(o_w + cn * 16, acc, LD, wmma::mem_row_major);
        }
        __syncwarp();
    }

    __syncwarp();
    if (lse != nullptr && half == 0 && t_row < tokens) lse[(long long)head * tokens + t_row] = m + logf(l);
    for (int rr = 0; rr < 16; rr++) {
        float lr = __shfl_sync(0xffffffffu, l, 2 * rr);
        int t = first + warp * 16 + rr;
        if (t >= tokens) continue;
        float inv = lr > 0.f ? 1.f / lr : 0.f;
        float* orow = out + ((long long)t * q_heads + head) * dim;
        for (int d = lane; d < dim; d += 32) orow[d] = o_w[rr * LD + d] * inv;
    }
}

#define ATTENTION_TC(NAME, DP)                                                                                   \
    extern "C" __global__ void __launch_bounds__(TC_WARPS * 32)                                                  \
    NAME(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,             \
         const float* v, long long vs0, long long vs1, float* out, float* lse, int tokens, int keys, int q_heads, \
         int kv_heads, int dim, float scale, int query_start) {                                                  \
        attention_tc<DP>(q, qs0, qs1, k, ks0, ks1, v, vs0, vs1, out, lse, tokens, keys, q_heads, kv_heads,       \
                         dim, scale, query_start);                                                               \
    }

ATTENTION_TC(attention_forward_tc64, 64)
ATTENTION_TC(attention_forward_tc80, 80)
ATTENTION_TC(attention_forward_tc128, 128)
