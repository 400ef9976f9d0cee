// Fused kernels of the CUDA decode step (at most 8 rows of F32 activations, F16/BF16 weights): each
// replaces a short chain of launches of the unfused step with one, doing the same F32 arithmetic.
//
// rms_norm_linear*: RMSNorm of x (rows.cu rms_norm_rows) folded into up to three GEMVs that share
//   it (q, k, v). Every block first computes each row's rstd and stages x * rstd * gamma in shared
//   memory, then walks feature groups of the weights, as gemv.cu's multi4 kernel does with x from
//   shared memory. The staged values equal the unfused RMSNorm's F32 outputs bit for bit (rows.cu's
//   partial sums in the same tree, see rms_rstd), so the outputs equal rmsNorm + linear except that
//   the k split is picked once for all weights (a different split only reorders the F32 sums).
// rms_norm_gated_mlp_in*: the same prologue; each warp computes 2 gate and the 2 matching up rows
//   and stores act(gate + bias) * (up + bias), as gated_activation_f32 does with the two GEMVs' outputs.
// linear_add_residual*: multi4 with x through L1 and the epilogue out = residual + (x w^T + bias),
//   as linear then binary_broadcast add. out may alias residual: each element is read and written by
//   the same thread and by no other.
// rope_append_kv[_bf16|_f16]: rope_f32 on q (in place) and k, with k and v stored as entry *length of
//   the F32 [16-bit] caches (decode.cu kv_append_step[_bf16|_f16]).
// argmax_partial / argmax_final: argmax over long rows in two passes (many blocks, then one per row)
//   with rows.cu's tie rule (NaN first, then larger, then lower index: a total order, so the split
//   does not change the answer).
// step_inputs_advance: adds 1 to a replayed decode step's per-layer integers (positions, cache lengths,
//   key counts) so that the device holds the next step's values without a host upload (decode lookahead:
//   the next step is queued before the host has read this step's token). Launched in plain stream order.
// Every kernel but step_inputs_advance waits for the previous launch with grid_dependency_wait()
// (grid_dependency.cuh) before it touches global memory, so it may run with programmatic dependent
// launch; the GEMV kernels first ask L2 for their first weight step, which no launch writes, and
// their _staged builds (WeightStaging) first copy all of the block's weight rows into shared memory
// (gemv_core_stage), then compute from there with the same arithmetic.
// step_inputs_advance does not call grid_dependency_wait(): it must stay launched in plain stream
// order (never with programmatic dependent launch), or it would race on the step's integers.
#include "activation.cuh"
#include "gemv_core.cuh"
#include "kv_store.cuh"
#include "rope_pair.cuh"

#include <type_traits>

#define FUSED_R 4        // weight rows per warp (multi4)
#define FUSED_PAIRS 2    // gate/up pairs per warp: FUSED_R rows
#define FUSED_SEGMENTS 3 // weights sharing one normed x
#define ARGMAX_THREADS 256

// The rstd of one row of k floats exactly as the unfused RMSNorm (rows.cu) computes it, which
// depends on the kernel CudaPointwise picks: vpt = 0, rms_norm_rows with vthreads threads (strided
// scalar partial sums); vpt > 0, rms_norm_rows_v4_<vpt> with vthreads threads (per thread vpt
// float4, four squares at a time). Either way the threads' sums go through warp_sum and then a
// warp_sum of the warps' sums. This block's threads play the vthreads threads (each several when
// vthreads > blockDim.x; extra threads add zeros, which changes no sum), so the result has the
// same bits. scratch holds 32 floats; every thread gets the result.
__device__ float rms_rstd(const float* row, int k, float eps, int vthreads, int vpt, float* scratch) {
    int lane = threadIdx.x & 31;
    int plays = (vthreads + blockDim.x - 1) / blockDim.x;
    __syncthreads();   // scratch may still be read for the previous row
    for (int m = 0; m < plays; m++) {
        int v = threadIdx.x + m * blockDim.x;
        float q = 0.f;
        if (v < vthreads) {
            if (vpt > 0) {
                const float4* row4 = reinterpret_cast<const float4*>(row);
                int nv = k >> 2;
                for (int j = 0; j < vpt; j++) {
                    int c = v + j * vthreads;
                    float4 a = c < nv ? row4[c] : make_float4(0.f, 0.f, 0.f, 0.f);
                    q += (a.x * a.x + a.y * a.y) + (a.z * a.z + a.w * a.w);
                }
            } else {
                for (int i = v; i < k; i += vthreads) q += row[i] * row[i];
            }
        }
        q = warp_sum(q);
        if (lane == 0 && (v >> 5) < 32) scratch[v >> 5] = q;
    }
    __syncthreads();
    int warps = max(vthreads, (int)blockDim.x) >> 5;
    float total = warp_sum(lane < warps ? scratch[lane] : 0.f);
    float variance = total / k;
    return (float)(1.0 / sqrt((double)(variance + eps)));
}

// Stages the unfused RMSNorm of x (rows x k, F32) in xs as rows of k floats (x * rstd * gamma, as
// rows.cu, so the same F32 values); ends with a barrier.
__device__ void stage_rms_normed(const float* __restrict__ x, const void* gamma, int gamma_type, float eps,
                                 int vthreads, int vpt, int rows, int k, float* xs) {
    __shared__ float scratch[32];
    __shared__ float rstd[GEMV_MAX_ROWS];
    for (int r = 0; r < rows; r++) {
        float s = rms_rstd(x + (long long)r * k, k, eps, vthreads, vpt, scratch);
        if (threadIdx.x == 0) rstd[r] = s;
    }
    __syncthreads();
    // Four elements at a time (k % 8 == 0, x 16-byte aligned; gamma read as a vector where the v4
    // norm would read it so, i.e. when it is 4-element aligned: vpt > 0).
    int count4 = rows * k / 4;
    for (int i4 = threadIdx.x; i4 < count4; i4 += blockDim.x) {
        int i = i4 * 4;
        int r = i / k;
        int c = i - r * k;
        float4 a = reinterpret_cast<const float4*>(x)[i4];
        float g[4];
        if (vpt > 0) {
            load4(gamma, gamma_type, c, g);
        } else {
#pragma unroll
            for (int e = 0; e < 4; e++) g[e] = load_float(gamma, gamma_type, c + e);
        }
        float s = rstd[r];
        reinterpret_cast<float4*>(xs)[i4] = make_float4(a.x * s * g[0], a.y * s * g[1], a.z * s * g[2], a.w * s * g[3]);
    }
    __syncthreads();
}

// One weight matrix [n, k] (rows ldw apart) with its optional bias and F32 output [rows, n].
struct Segment {
    const void* w;
    long long ldw;
    const void* bias;
    int bias_type;
    float* out;
    int n;
};

// RMSNorm + up to FUSED_SEGMENTS linears of the normed x; one wave of blocks walks the feature
// groups of all segments in order (each group within one segment).
template <typename H, int MAXR, bool STAGED>
__device__ void norm_linears(const float* __restrict__ x, const void* gamma, int gamma_type, float eps, int vthreads, int vpt,
                             const Segment (&seg)[FUSED_SEGMENTS], int segments, int rows, int k, int split, int staged,
                             int early) {
    extern __shared__ float4 fused_xs[];
    __shared__ float partial[GEMV_MULTI_THREADS / 32][FUSED_R][MAXR];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int slots = (GEMV_MULTI_THREADS / 32) / split;
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    int per = FUSED_R * slots;
    // Segments are picked with constant indices only, so they stay in registers.
    int end0 = (seg[0].n + per - 1) / per;
    int end1 = end0 + (segments > 1 ? (seg[1].n + per - 1) / per : 0);
    int total = end1 + (segments > 2 ? (seg[2].n + per - 1) / per : 0);
    constexpr int U = GEMV_MULTI_LOADS / FUSED_R;
    // Staged weights (staged > 0 groups per block) follow x's rows in shared memory.
    uint4* staged_w = reinterpret_cast<uint4*>(reinterpret_cast<float*>(fused_xs) + rows * k);
    if constexpr (STAGED) {
        // This block's groups' weights stream into shared memory while the previous kernel runs.
        for (int i = 0, g = blockIdx.x; i < staged && g < total; i++, g += gridDim.x) {
            Segment at = g >= end1 ? seg[2] : g >= end0 ? seg[1] : seg[0];
            int local = g >= end1 ? g - end1 : g >= end0 ? g - end0 : g;
            int j0 = (local * slots + group) * FUSED_R;
            const uint4* wr[FUSED_R];
#pragma unroll
            for (int q = 0; q < FUSED_R; q++) {
                wr[q] = reinterpret_cast<const uint4*>(static_cast<const H*>(at.w) + (long long)min(j0 + q, at.n - 1) * at.ldw);
            }
            gemv_core_stage<FUSED_R, U>(staged_w + (long long)(i * slots + group) * FUSED_R * chunks, wr, j0 < at.n, chunks,
                                        part, split, lane);
        }
        gemv_core_staged_enter(early);
    } else {
        // L2 fetches this block's first weight step while x is normed and staged.
        int g = blockIdx.x;
        Segment at = g >= end1 ? seg[2] : g >= end0 ? seg[1] : seg[0];
        int local = g >= end1 ? g - end1 : g >= end0 ? g - end0 : g;
        if (g < total) {
            gemv_core_prefetch<H, FUSED_R, U>(static_cast<const H*>(at.w), at.ldw, (local * slots + group) * FUSED_R, at.n,
                                              part * 32 * U + lane, chunks);
        }
        grid_dependency_enter();
    }
    stage_rms_normed(x, gamma, gamma_type, eps, vthreads, vpt, rows, k, reinterpret_cast<float*>(fused_xs));
    if constexpr (STAGED) cp_async_wait_all();
    for (int i = 0, g = blockIdx.x; g < total; i++, g += gridDim.x) {
        Segment at = seg[0];
        int local = g;
        if (g >= end1) {
            at = seg[2];
            local = g - end1;
        } else if (g >= end0) {
            at = seg[1];
            local = g - end0;
        }
        const int n = at.n;
        const H* w = static_cast<const H*>(at.w);
        int j0 = (local * slots + group) * FUSED_R;
        float acc[FUSED_R][MAXR];
        if (STAGED && i < staged) {
            const uint4* wr[FUSED_R];
            gemv_core_staged_rows<FUSED_R>(staged_w + (long long)(i * slots + group) * FUSED_R * chunks, chunks, wr);
            gemv_core_group<H, FUSED_R, true, MAXR, U, true>(fused_xs, wr, j0 < n, rows, chunks, part, split, lane, acc);
        } else {
            const uint4* wr[FUSED_R];
#pragma unroll
            for (int q = 0; q < FUSED_R; q++) {
                wr[q] = reinterpret_cast<const uint4*>(w + (long long)min(j0 + q, n - 1) * at.ldw);
            }
            gemv_core_group<H, FUSED_R, true, MAXR>(fused_xs, wr, j0 < n, rows, chunks, part, split, lane, acc);
        }
        gemv_core_finish<FUSED_R, MAXR>(acc, partial, rows, part, split, j0, n, at.bias, at.bias_type,
                                        [out = at.out](long long e, float sum, float b) { out[e] = sum + b; });
        __syncthreads();   // partial is rewritten by the next group
    }
}

// STAGED kernels (the *_staged names) take two more arguments: staged (groups per block whose weights
// are copied into dynamic shared memory, after x's rows, before the wait) and early (0/1:
// gemv_core_staged_enter). The unstaged kernels are the ones without staging, unchanged.
#define NORM_LINEARS_KERNEL(NAME, MAXR, STAGED, EXTRA_PARAMS, EXTRA_ARGS)                                        \
    extern "C" __global__ void __launch_bounds__(GEMV_MULTI_THREADS, 2)                                          \
    NAME(const float* x, const void* gamma, int gamma_type, float eps, int vthreads, int vpt, int w_type,        \
         const void* w0, long long ldw0, const void* b0, int bt0, float* out0, int n0,                            \
         const void* w1, long long ldw1, const void* b1, int bt1, float* out1, int n1,                            \
         const void* w2, long long ldw2, const void* b2, int bt2, float* out2, int n2,                            \
         int segments, int rows, int k, int split EXTRA_PARAMS) {                                                 \
        const Segment seg[FUSED_SEGMENTS] = {{w0, ldw0, b0, bt0, out0, n0}, {w1, ldw1, b1, bt1, out1, n1},        \
                                             {w2, ldw2, b2, bt2, out2, n2}};                                     \
        if (w_type == DT_BF16) {                                                                                 \
            norm_linears<__nv_bfloat16, MAXR, STAGED>(x, gamma, gamma_type, eps, vthreads, vpt, seg, segments, rows, \
                                                      k, split EXTRA_ARGS);                                      \
        } else {                                                                                                 \
            norm_linears<__half, MAXR, STAGED>(x, gamma, gamma_type, eps, vthreads, vpt, seg, segments, rows, k,     \
                                               split EXTRA_ARGS);                                                \
        }                                                                                                        \
    }

#define UNSTAGED_PARAMS
#define UNSTAGED_ARGS , 0, 0
#define STAGED_PARAMS , int staged, int early
#define STAGED_ARGS , staged, early

NORM_LINEARS_KERNEL(rms_norm_linear_1, 1, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
NORM_LINEARS_KERNEL(rms_norm_linear, GEMV_MAX_ROWS, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
NORM_LINEARS_KERNEL(rms_norm_linear_1_staged, 1, true, STAGED_PARAMS, STAGED_ARGS)
NORM_LINEARS_KERNEL(rms_norm_linear_staged, GEMV_MAX_ROWS, true, STAGED_PARAMS, STAGED_ARGS)

// The FUSED_R weight rows of the gate/up group at feature j0: gate rows j0, j0 + 1, then the same up rows
// (features past n repeat row n - 1, which the group's live check and the store skip).
template <typename H>
__device__ __forceinline__ void gated_rows(const H* w_gate, const H* w_up, long long ldw, int j0, int n,
                                           const uint4* (&wr)[FUSED_R]) {
#pragma unroll
    for (int p = 0; p < FUSED_PAIRS; p++) {
        long long row = (long long)min(j0 + p, n - 1) * ldw;
        wr[p] = reinterpret_cast<const uint4*>(w_gate + row);
        wr[FUSED_PAIRS + p] = reinterpret_cast<const uint4*>(w_up + row);
    }
}

// RMSNorm, then out = act(gate(xn)) * up(xn) (out F32, F16 or BF16, rounded to nearest even): each
// warp group serves FUSED_PAIRS consecutive features, reading their gate rows and up rows.
template <typename H, int MAXR, bool STAGED>
__device__ void norm_gated_mlp_in(const float* __restrict__ x, const void* gamma, int gamma_type, float eps,
                                  int vthreads, int vpt, const H* __restrict__ w_gate, const void* gate_bias,
                                  const H* __restrict__ w_up, const void* up_bias, int bias_type, long long ldw,
                                  int act, void* out, int out_type, int rows, int n, int k, int split, int staged,
                                  int early) {
    extern __shared__ float4 fused_xs[];
    __shared__ float partial[GEMV_MULTI_THREADS / 32][FUSED_R][MAXR];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int slots = (GEMV_MULTI_THREADS / 32) / split;
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    int groups = (n + FUSED_PAIRS * slots - 1) / (FUSED_PAIRS * slots);
    constexpr int U = GEMV_MULTI_LOADS / FUSED_R;
    // Staged weights (staged > 0 groups per block) follow x's rows in shared memory.
    uint4* staged_w = reinterpret_cast<uint4*>(reinterpret_cast<float*>(fused_xs) + rows * k);
    if constexpr (STAGED) {
        // This block's groups' gate and up rows stream into shared memory while the previous kernel runs.
        for (int i = 0, g = blockIdx.x; i < staged && g < groups; i++, g += gridDim.x) {
            int j0 = (g * slots + group) * FUSED_PAIRS;
            const uint4* wr[FUSED_R];
            gated_rows<H>(w_gate, w_up, ldw, j0, n, wr);
            gemv_core_stage<FUSED_R, U>(staged_w + (long long)(i * slots + group) * FUSED_R * chunks, wr, j0 < n, chunks,
                                        part, split, lane);
        }
        gemv_core_staged_enter(early);
    } else {
        if (blockIdx.x < groups) {
            // L2 fetches this block's first gate and up step while x is normed and staged.
            int j0 = (blockIdx.x * slots + group) * FUSED_PAIRS;
            int c0 = part * 32 * U + lane;
            gemv_core_prefetch<H, FUSED_PAIRS, U>(w_gate, ldw, j0, n, c0, chunks);
            gemv_core_prefetch<H, FUSED_PAIRS, U>(w_up, ldw, j0, n, c0, chunks);
        }
        grid_dependency_enter();
    }
    stage_rms_normed(x, gamma, gamma_type, eps, vthreads, vpt, rows, k, reinterpret_cast<float*>(fused_xs));
    if constexpr (STAGED) cp_async_wait_all();
    for (int i = 0, g = blockIdx.x; g < groups; i++, g += gridDim.x) {
        int j0 = (g * slots + group) * FUSED_PAIRS;
        const uint4* wr[FUSED_R];
        float acc[FUSED_R][MAXR];
        if (STAGED && i < staged) {
            gemv_core_staged_rows<FUSED_R>(staged_w + (long long)(i * slots + group) * FUSED_R * chunks, chunks, wr);
            gemv_core_group<H, FUSED_R, true, MAXR, U, true>(fused_xs, wr, j0 < n, rows, chunks, part, split, lane, acc);
        } else {
            gated_rows<H>(w_gate, w_up, ldw, j0, n, wr);
            gemv_core_group<H, FUSED_R, true, MAXR>(fused_xs, wr, j0 < n, rows, chunks, part, split, lane, acc);
        }
        gemv_core_publish<FUSED_R, MAXR>(acc, partial, rows, warp, lane);
        if (part == 0 && lane < FUSED_PAIRS * rows) {
            int p = lane / rows;
            int r = lane - p * rows;
            int j = j0 + p;
            if (j < n) {
                float gate = gemv_core_total<FUSED_R, MAXR>(partial, warp, split, p, r)
                           + (gate_bias == nullptr ? 0.f : load_float(gate_bias, bias_type, j));
                float up = gemv_core_total<FUSED_R, MAXR>(partial, warp, split, FUSED_PAIRS + p, r)
                         + (up_bias == nullptr ? 0.f : load_float(up_bias, bias_type, j));
                store_float(out, out_type, (long long)r * n + j, activate(act, gate) * up);
            }
        }
        __syncthreads();   // partial is rewritten by the next group
    }
}

#define NORM_GATED_KERNEL(NAME, MAXR, STAGED, EXTRA_PARAMS, EXTRA_ARGS)                                          \
    extern "C" __global__ void __launch_bounds__(GEMV_MULTI_THREADS, 2)                                          \
    NAME(const float* x, const void* gamma, int gamma_type, float eps, int vthreads, int vpt, int w_type,        \
         const void* w_gate, const void* gate_bias, const void* w_up, const void* up_bias, int bias_type,         \
         long long ldw, int act, void* out, int out_type, int rows, int n, int k, int split EXTRA_PARAMS) {       \
        if (w_type == DT_BF16) {                                                                                 \
            norm_gated_mlp_in<__nv_bfloat16, MAXR, STAGED>(x, gamma, gamma_type, eps, vthreads, vpt,                  \
                static_cast<const __nv_bfloat16*>(w_gate), gate_bias, static_cast<const __nv_bfloat16*>(w_up),   \
                up_bias, bias_type, ldw, act, out, out_type, rows, n, k, split EXTRA_ARGS);                       \
        } else {                                                                                                 \
            norm_gated_mlp_in<__half, MAXR, STAGED>(x, gamma, gamma_type, eps, vthreads, vpt,                         \
                static_cast<const __half*>(w_gate), gate_bias, static_cast<const __half*>(w_up),                 \
                up_bias, bias_type, ldw, act, out, out_type, rows, n, k, split EXTRA_ARGS);                       \
        }                                                                                                        \
    }

NORM_GATED_KERNEL(rms_norm_gated_mlp_in_1, 1, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
NORM_GATED_KERNEL(rms_norm_gated_mlp_in, GEMV_MAX_ROWS, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
NORM_GATED_KERNEL(rms_norm_gated_mlp_in_1_staged, 1, true, STAGED_PARAMS, STAGED_ARGS)
NORM_GATED_KERNEL(rms_norm_gated_mlp_in_staged, GEMV_MAX_ROWS, true, STAGED_PARAMS, STAGED_ARGS)

// out = residual + (x w^T + bias), x [rows, k] F32 through L1; one block per 8 / split feature
// groups (no grid stride), as multi4. out may be residual itself. staged (0 or 1): the block's weight
// rows are first copied into dynamic shared memory (gemv_core_stage), before the wait.
template <typename H, int MAXR, bool STAGED>
__device__ void linear_residual(const float* __restrict__ x, const H* __restrict__ w, long long ldw, const void* bias,
                                int bias_type, const float* residual, float* out, int rows, int n, int k, int split,
                                int staged, int early) {
    if constexpr (!STAGED) grid_dependency_enter();
    extern __shared__ uint4 linear_staged_w[];
    __shared__ float partial[GEMV_MULTI_THREADS / 32][FUSED_R][MAXR];
    constexpr int U = GEMV_MULTI_LOADS / FUSED_R;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int slots = (GEMV_MULTI_THREADS / 32) / split;
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    int j0 = (blockIdx.x * slots + group) * FUSED_R;
    const uint4* wr[FUSED_R];
#pragma unroll
    for (int q = 0; q < FUSED_R; q++) {
        wr[q] = reinterpret_cast<const uint4*>(w + (long long)min(j0 + q, n - 1) * ldw);
    }
    float acc[FUSED_R][MAXR];
    if constexpr (STAGED) {
        uint4* sw = linear_staged_w + (long long)group * FUSED_R * chunks;
        gemv_core_stage<FUSED_R, U>(sw, wr, j0 < n, chunks, part, split, lane);
        gemv_core_staged_enter(early);
        cp_async_wait_all();
        gemv_core_staged_rows<FUSED_R>(sw, chunks, wr);
        gemv_core_group<H, FUSED_R, false, MAXR, U, true>(reinterpret_cast<const float4*>(x), wr, j0 < n, rows, chunks,
                                                         part, split, lane, acc);
    } else {
        gemv_core_group<H, FUSED_R, false, MAXR>(reinterpret_cast<const float4*>(x), wr, j0 < n, rows, chunks, part, split,
                                                 lane, acc);
    }
    gemv_core_finish<FUSED_R, MAXR>(acc, partial, rows, part, split, j0, n, bias, bias_type,
                                    [&](long long at, float sum, float b) { out[at] = residual[at] + (sum + b); });
}

#define LINEAR_RESIDUAL_KERNEL(NAME, MAXR, STAGED, EXTRA_PARAMS, EXTRA_ARGS)                                     \
    extern "C" __global__ void __launch_bounds__(GEMV_MULTI_THREADS, 2)                                          \
    NAME(const float* x, const void* w, int w_type, long long ldw, const void* bias, int bias_type,              \
         const float* residual, float* out, int rows, int n, int k, int split EXTRA_PARAMS) {                     \
        if (w_type == DT_BF16) {                                                                                 \
            linear_residual<__nv_bfloat16, MAXR, STAGED>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias,     \
                                                         bias_type, residual, out, rows, n, k, split EXTRA_ARGS); \
        } else {                                                                                                 \
            linear_residual<__half, MAXR, STAGED>(x, static_cast<const __half*>(w), ldw, bias, bias_type,         \
                                                  residual, out, rows, n, k, split EXTRA_ARGS);                   \
        }                                                                                                        \
    }

LINEAR_RESIDUAL_KERNEL(linear_add_residual_1, 1, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
LINEAR_RESIDUAL_KERNEL(linear_add_residual, GEMV_MAX_ROWS, false, UNSTAGED_PARAMS, UNSTAGED_ARGS)
LINEAR_RESIDUAL_KERNEL(linear_add_residual_1_staged, 1, true, STAGED_PARAMS, STAGED_ARGS)
LINEAR_RESIDUAL_KERNEL(linear_add_residual_staged, GEMV_MAX_ROWS, true, STAGED_PARAMS, STAGED_ARGS)

// One token: q [heads, dim] rotated in place; k [kv_heads, dim] rotated and v copied into entry
// *length of the head-major caches [kv_heads, capacity, dim]. cos/sin [half]. Items: for each
// head of q then of k, i < dim - half as rope_f32 (rotate the pair (i, i + half), or pass dim
// i + half through); then every element of v. T is the caches' type: rope_append_kv keeps F32
// caches, rope_append_kv_bf16 / _f16 round the F32 results to 16 bits (store_kv, nearest even).
template <typename T>
__device__ __forceinline__ void rope_append(float* q, const float* k, const float* v, const float* cos_t,
                                            const float* sin_t, T* key_cache, T* value_cache, int heads,
                                            int kv_heads, int capacity, int dim, int half, const int* length) {
    const int at = *length;
    const int width = dim - half;
    const int q_items = heads * width;
    const int rot_items = (heads + kv_heads) * width;
    const int total = rot_items + kv_heads * dim;
    for (int item = blockIdx.x * blockDim.x + threadIdx.x; item < total; item += gridDim.x * blockDim.x) {
        if (item < rot_items) {
            bool is_q = item < q_items;
            int local = is_q ? item : item - q_items;
            int h = local / width, i = local - h * width;
            const float* src = is_q ? q + (long long)h * dim : k + (long long)h * dim;
            if constexpr (std::is_same_v<T, float>) {
                float* dst = is_q ? q + (long long)h * dim : key_cache + ((long long)h * capacity + at) * dim;
                if (i < half) {
                    float c = cos_t[i], s = sin_t[i];
                    float lo = src[i], hi = src[i + half];
                    dst[i] = rope_pair_lo(lo, hi, c, s);
                    dst[i + half] = rope_pair_hi(lo, hi, c, s);
                } else if (!is_q) {
                    dst[i + half] = src[i + half];
                }
            } else if (i < half) {
                float c = cos_t[i], s = sin_t[i];
                float lo = src[i], hi = src[i + half];
                float rlo = rope_pair_lo(lo, hi, c, s), rhi = rope_pair_hi(lo, hi, c, s);
                store_rope_pair(is_q, q, key_cache, h, capacity, at, dim, i, half, rlo, rhi);
            } else if (!is_q) {
                store_kv(cache_entry(key_cache, h, capacity, at, dim) + i + half, src[i + half]);
            }
        } else {
            int local = item - rot_items;
            int h = local / dim, d = local - h * dim;
            store_kv(cache_entry(value_cache, h, capacity, at, dim) + d, v[local]);
        }
    }
}

extern "C" __global__ void rope_append_kv(float* q, const float* k, const float* v, const float* cos_t,
                                          const float* sin_t, float* key_cache, float* value_cache, int heads,
                                          int kv_heads, int capacity, int dim, int half, const int* length) {
    grid_dependency_enter();
    rope_append<float>(q, k, v, cos_t, sin_t, key_cache, value_cache, heads, kv_heads, capacity, dim, half, length);
}

extern "C" __global__ void rope_append_kv_bf16(float* q, const float* k, const float* v, const float* cos_t,
                                               const float* sin_t, __nv_bfloat16* key_cache,
                                               __nv_bfloat16* value_cache, int heads, int kv_heads, int capacity,
                                               int dim, int half, const int* length) {
    grid_dependency_enter();
    rope_append<__nv_bfloat16>(q, k, v, cos_t, sin_t, key_cache, value_cache, heads, kv_heads, capacity, dim, half,
                               length);
}

extern "C" __global__ void rope_append_kv_f16(float* q, const float* k, const float* v, const float* cos_t,
                                              const float* sin_t, __half* key_cache, __half* value_cache, int heads,
                                              int kv_heads, int capacity, int dim, int half, const int* length) {
    grid_dependency_enter();
    rope_append<__half>(q, k, v, cos_t, sin_t, key_cache, value_cache, heads, kv_heads, capacity, dim, half, length);
}

// a better than b: NaN beats numbers (torch.argmax), then larger value, then lower index (rows.cu's rule).
__device__ __forceinline__ bool argmax_wins(float a, int ia, float b, int ib) {
    bool an = isnan(a), bn = isnan(b);
    if (an != bn) return an;
    if (!an && a != b) return a > b;
    return ia < ib;
}

// The block's best (value, index) of candidates it was handed; thread 0 gets it.
__device__ __forceinline__ void argmax_block(float& v, int& idx) {
    __shared__ float best_v[ARGMAX_THREADS / 32];
    __shared__ int best_i[ARGMAX_THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (argmax_wins(ov, oi, v, idx)) { v = ov; idx = oi; }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { best_v[warp] = v; best_i[warp] = idx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < ARGMAX_THREADS / 32; w++) {
            if (argmax_wins(best_v[w], best_i[w], v, idx)) { v = best_v[w]; idx = best_i[w]; }
        }
    }
}

// Pass 1: grid (blocks, rows); block b takes elements [b * span, (b + 1) * span) of its row and
// writes its best to cand_v / cand_i [rows, gridDim.x].
extern "C" __global__ void __launch_bounds__(ARGMAX_THREADS) argmax_partial(const void* x, int x_type, long long row_stride,
                                                                            int n, int span, float* cand_v, int* cand_i) {
    grid_dependency_enter();
    const long long base = (long long)blockIdx.y * row_stride;
    int from = blockIdx.x * span, to = min(n, from + span);
    float v = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = from + threadIdx.x; i < to; i += ARGMAX_THREADS) {
        float y = load_float(x, x_type, base + i);
        if (argmax_wins(y, i, v, idx)) { v = y; idx = i; }
    }
    argmax_block(v, idx);
    if (threadIdx.x == 0) {
        long long at = (long long)blockIdx.y * gridDim.x + blockIdx.x;
        cand_v[at] = v;
        cand_i[at] = idx;
    }
}

// Pass 2: one block per row over its `blocks` candidates; out[row] = the winning index.
extern "C" __global__ void __launch_bounds__(ARGMAX_THREADS) argmax_final(const float* cand_v, const int* cand_i, int blocks,
                                                                          int* out) {
    grid_dependency_enter();
    const long long base = (long long)blockIdx.x * blocks;
    float v = -INFINITY;
    int idx = 0x7fffffff;
    for (int b = threadIdx.x; b < blocks; b += ARGMAX_THREADS) {
        if (argmax_wins(cand_v[base + b], cand_i[base + b], v, idx)) { v = cand_v[base + b]; idx = cand_i[base + b]; }
    }
    argmax_block(v, idx);
    if (threadIdx.x == 0) out[blockIdx.x] = idx;
}

// One block: cells[i] += 1 for i < count (count is 3 * layers, a few hundred at most).
extern "C" __global__ void step_inputs_advance(int* cells, int count) {
    for (int i = threadIdx.x; i < count; i += blockDim.x) cells[i] += 1;
}
