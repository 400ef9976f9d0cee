// The device-side core of the decode GEMVs (gemv.cu) shared with the fused decode kernels
// (decode_fused.cu): 16-bit weights widened in registers, F32 activations, F32 products and sums.
#pragma once
#include "common.cuh"
#include "cp_async.cuh"
#include "grid_dependency.cuh"

#define GEMV_MAX_ROWS 8
#define GEMV_MULTI_LOADS 8
#define GEMV_MULTI_THREADS 256

template <typename H>
__device__ __forceinline__ float widen(H h);
template <>
__device__ __forceinline__ float widen<__half>(__half h) { return __half2float(h); }
template <>
__device__ __forceinline__ float widen<__nv_bfloat16>(__nv_bfloat16 h) { return __bfloat162float(h); }

// One warp's share of R weight rows times `rows` (<= MAXR) rows of x (vector case: k % 8 == 0,
// 16-byte aligned rows): the warp is slice `part` of `split` warps over the k / 8 = chunks
// 16-byte chunks. Per step a lane issues R * U weight loads (U = GEMV_MULTI_LOADS / R unless given;
// streamed with evict-first) before any arithmetic, then reads each x float4 pair once (xv: rows of chunks * 2
// float4; XS: in shared memory, else through L1) and multiplies it into all R rows. acc[q][r]
// gets the lane's running F32 sum of 8-product partial sums; the caller reduces over lanes and slices.
// A lane's chunks depend on U and split only, so cores of other R with the same U and split give
// each weight row the same sums. WS: wr points at the rows gemv_core_stage copied into shared memory
// (each lane reads only the chunks it copied itself), read with plain loads; the arithmetic is the same.
template <typename H, int R, bool XS, int MAXR, int U = GEMV_MULTI_LOADS / R, bool WS = false>
__device__ __forceinline__ void gemv_core_accumulate(const float4* __restrict__ xv, const uint4* const (&wr)[R], int rows,
                                                     int chunks, int part, int split, int lane, float (&acc)[R][MAXR]) {
    int step = split * 32 * U;
    for (int base = part * 32 * U + lane; base < chunks; base += step) {
        uint4 packed[U][R];
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = base + u * 32;
#pragma unroll
            for (int q = 0; q < R; q++) packed[u][q] = c < chunks ? (WS ? wr[q][c] : __ldcs(wr[q] + c)) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = base + u * 32;
            if (c < chunks) {
                float wf[R][8];
#pragma unroll
                for (int q = 0; q < R; q++) {
                    const H* h = reinterpret_cast<const H*>(&packed[u][q]);
#pragma unroll
                    for (int e = 0; e < 8; e++) wf[q][e] = widen<H>(h[e]);
                }
#pragma unroll
                for (int r = 0; r < MAXR; r++) {
                    if (r < rows) {
                        const float4* xr = xv + (long long)r * chunks * 2 + c * 2;
                        float4 a, b;
                        if (XS) {
                            a = xr[0];
                            b = xr[1];
                        } else {
                            a = __ldg(xr);
                            b = __ldg(xr + 1);
                        }
#pragma unroll
                        for (int q = 0; q < R; q++) {
                            acc[q][r] += a.x * wf[q][0] + a.y * wf[q][1] + a.z * wf[q][2] + a.w * wf[q][3]
                                       + b.x * wf[q][4] + b.y * wf[q][5] + b.z * wf[q][6] + b.w * wf[q][7];
                        }
                    }
                }
            }
        }
    }
}

// One feature group's per-lane sums: acc zeroed, then (when live) gemv_core_accumulate over weight rows wr.
template <typename H, int R, bool XS, int MAXR, int U = GEMV_MULTI_LOADS / R, bool WS = false>
__device__ __forceinline__ void gemv_core_group(const float4* __restrict__ xv, const uint4* const (&wr)[R], bool live,
                                                int rows, int chunks, int part, int split, int lane,
                                                float (&acc)[R][MAXR]) {
#pragma unroll
    for (int q = 0; q < R; q++) {
#pragma unroll
        for (int r = 0; r < MAXR; r++) acc[q][r] = 0.f;
    }
    if (live) gemv_core_accumulate<H, R, XS, MAXR, U, WS>(xv, wr, rows, chunks, part, split, lane, acc);
}

// Decode weight staging: copies (cp.async, through L2 only) the 16-byte chunks of weight rows wr[0..R)
// that this lane will read in gemv_core_accumulate (slice `part` of `split`, U loads per row and step)
// into sw, R rows of `chunks` chunks, at the same chunk index, then commits them as one group. No
// launch writes weights, so a kernel may do this before grid_dependency_wait() (grid_dependency.cuh):
// the weights then stream from HBM while the previous kernel runs. The lane reads them after its own
// cp_async_wait_all(), with no barrier: no other thread reads what it copied. Nothing when !live.
template <int R, int U>
__device__ __forceinline__ void gemv_core_stage(uint4* sw, const uint4* const (&wr)[R], bool live, int chunks, int part,
                                                int split, int lane) {
    if (live) {
        int step = split * 32 * U;
        for (int base = part * 32 * U + lane; base < chunks; base += step) {
#pragma unroll
            for (int u = 0; u < U; u++) {
                int c = base + u * 32;
                if (c < chunks) {
#pragma unroll
                    for (int q = 0; q < R; q++) cp_async16(sw + (long long)q * chunks + c, wr[q] + c, 16);
                }
            }
        }
    }
    cp_async_commit();
}

// The rows of a staged warp group: R rows of `chunks` 16-byte chunks from sw on.
template <int R>
__device__ __forceinline__ void gemv_core_staged_rows(uint4* sw, int chunks, const uint4* (&wr)[R]) {
#pragma unroll
    for (int q = 0; q < R; q++) wr[q] = sw + (long long)q * chunks;
}

// The prologue of a kernel that staged weights (gemv_core_stage): with `early`, let the next kernel
// start before this one waits (so its blocks stage their weights while this one runs), else after.
__device__ __forceinline__ void gemv_core_staged_enter(int early) {
    if (early) grid_dependents_launch();
    grid_dependency_wait();
    if (!early) grid_dependents_launch();
}

// Asks L2 for a warp's first step of weight rows j0 .. j0 + ROWS - 1 (those below n): U chunks
// from c0 = part * 32 * U + lane on, 32 apart, as gemv_core_accumulate will load them, so HBM works
// while the block does something else first (stages x).
template <typename H, int ROWS, int U>
__device__ __forceinline__ void gemv_core_prefetch(const H* w, long long ldw, int j0, int n, int c0, int chunks) {
#pragma unroll
    for (int q = 0; q < ROWS; q++) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (j0 + q < n && c0 + u * 32 < chunks) {
                const uint4* p = reinterpret_cast<const uint4*>(w + (long long)(j0 + q) * ldw) + c0 + u * 32;
                asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(p)));
            }
        }
    }
}

// Warp-sums each lane's acc[q][r] into partial[warp][q][r] (lane 0 stores), then waits for the block.
template <int R, int MAXR>
__device__ __forceinline__ void gemv_core_publish(const float (&acc)[R][MAXR], float (*partial)[R][MAXR], int rows,
                                                  int warp, int lane) {
#pragma unroll
    for (int q = 0; q < R; q++) {
#pragma unroll
        for (int r = 0; r < MAXR; r++) {
            if (r < rows) {
                float s = warp_sum(acc[q][r]);
                if (lane == 0) partial[warp][q][r] = s;
            }
        }
    }
    __syncthreads();
}

// The full dot product of weight row q with x row r: the slices' warp sums added in slice order.
template <int R, int MAXR>
__device__ __forceinline__ float gemv_core_total(float (*partial)[R][MAXR], int warp, int split, int q, int r) {
    float s = 0.f;
    for (int p = 0; p < split; p++) s += partial[warp + p][q][r];
    return s;
}

// The end of a feature group of R rows from j0 on: gemv_core_publish, then lane q * rows + r (q < R, r < rows)
// of the group's slice 0 calls store(at, sum, b) for each feature j = j0 + q below n, with at = r * n + j (the
// element of an output [rows, n]), sum = gemv_core_total and b = bias[j] (0.f without bias); the store adds
// them itself (sum + b), so that it may load what it adds them to first, as the kernels always did.
template <int R, int MAXR, typename Store>
__device__ __forceinline__ void gemv_core_finish(const float (&acc)[R][MAXR], float (*partial)[R][MAXR], int rows,
                                                 int part, int split, int j0, int n, const void* bias, int bias_type, Store store) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    gemv_core_publish<R, MAXR>(acc, partial, rows, warp, lane);
    if (part == 0 && lane < R * rows) {
        int q = lane / rows;
        int r = lane - q * rows;
        int j = j0 + q;
        if (j < n) {
            float sum = gemv_core_total<R, MAXR>(partial, warp, split, q, r);
            float b = bias == nullptr ? 0.f : load_float(bias, bias_type, j);
            store((long long)r * n + j, sum, b);
        }
    }
}
