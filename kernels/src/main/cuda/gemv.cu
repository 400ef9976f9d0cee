// Decode-shaped linear layers with F16/BF16 weights: out[r, j] = sum_k x[r, k] * w[j, k] + bias[j]
// for r < rows <= 8. F32 activations are read as is and weights are widened in registers, so the
// result matches the CPU backend's F32 accumulation; each weight row is streamed once.
#include "gemv_core.cuh"

template <typename H>
__device__ void gemv_rows(const float* x, const H* w, long long ldw, const void* bias, int bias_type,
                          float* out, int rows, int n, int k, bool vec) {
    int lane = threadIdx.x & 31;
    int j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (j >= n) return;
    const H* wr = w + (long long)j * ldw;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
    int done = 0;
    if (vec) {
        const uint4* w8 = reinterpret_cast<const uint4*>(wr);
        int chunks = k >> 3;
#pragma unroll 4
        for (int c = lane; c < chunks; c += 32) {
            uint4 packed = w8[c];
            const H* h = reinterpret_cast<const H*>(&packed);
            float wf[8];
#pragma unroll
            for (int e = 0; e < 8; e++) wf[e] = widen<H>(h[e]);
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    const float4* xr = reinterpret_cast<const float4*>(x + (long long)r * k + c * 8);
                    float4 a = xr[0], b = xr[1];
                    acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                            + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
                }
            }
        }
        done = chunks << 3;
    }
    for (int i = done + lane; i < k; i += 32) {
        float wf = widen<H>(wr[i]);
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) acc[r] += x[(long long)r * k + i] * wf;
        }
    }
    float b = bias == nullptr ? 0.f : load_float(bias, bias_type, j);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) out[(long long)r * n + j] = s + b;
        }
    }
}

// One warp per output feature j. vec: k % 8 == 0 and w rows and x 16-byte aligned.
extern "C" __global__ void gemv_half_weights(const float* x, const void* w, int w_type, long long ldw,
                                             const void* bias, int bias_type, float* out,
                                             int rows, int n, int k, int vec) {
    if (w_type == DT_BF16) {
        gemv_rows<__nv_bfloat16>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias, bias_type, out, rows, n, k, vec != 0);
    } else {
        gemv_rows<__half>(x, static_cast<const __half*>(w), ldw, bias, bias_type, out, rows, n, k, vec != 0);
    }
}

// Decode GEMV tuned for HBM bandwidth (vec case only: k % 8 == 0, w rows and x 16-byte aligned).
// A block of 256 threads (8 warps) serves 8 / split output features; each feature's k is split
// over `split` warps (1, 2, 4 or 8). Each lane first issues GEMV_LOADS 16-byte weight loads
// (8 bf16/f16 each, streamed past L1 with evict-first) and only then widens and multiplies, so
// every warp keeps GEMV_LOADS * 512 bytes in flight; the warps of one feature combine their
// partial sums through shared memory. Same F32 products and F32 sums as gemv_half_weights.
#define GEMV_LOADS 4
template <typename H>
__device__ void gemv_split_rows(const float* __restrict__ x, const H* __restrict__ w, long long ldw,
                                const void* bias, int bias_type, float* out, int rows, int n, int k, int split) {
    __shared__ float partial[8][GEMV_MAX_ROWS];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int group = warp / split;          // feature slot within the block
    int part = warp - group * split;   // which slice of k
    int j = blockIdx.x * (8 / split) + group;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
    if (j < n) {
        const uint4* w8 = reinterpret_cast<const uint4*>(w + (long long)j * ldw);
        int chunks = k >> 3;
        int step = split * 32 * GEMV_LOADS;
        for (int base = part * 32 * GEMV_LOADS + lane; base < chunks; base += step) {
            uint4 packed[GEMV_LOADS];
#pragma unroll
            for (int u = 0; u < GEMV_LOADS; u++) {
                int c = base + u * 32;
                packed[u] = c < chunks ? __ldcs(w8 + c) : make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (int u = 0; u < GEMV_LOADS; u++) {
                int c = base + u * 32;
                if (c < chunks) {
                    const H* h = reinterpret_cast<const H*>(&packed[u]);
                    float wf[8];
#pragma unroll
                    for (int e = 0; e < 8; e++) wf[e] = widen<H>(h[e]);
#pragma unroll
                    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                        if (r < rows) {
                            const float4* xr = reinterpret_cast<const float4*>(x + (long long)r * k + c * 8);
                            float4 a = __ldg(xr), b = __ldg(xr + 1);
                            acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                                    + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
                        }
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) partial[warp][r] = s;
        }
    }
    __syncthreads();
    if (part == 0 && lane < rows && j < n) {
        float s = 0.f;
        for (int p = 0; p < split; p++) s += partial[warp + p][lane];
        float b = bias == nullptr ? 0.f : load_float(bias, bias_type, j);
        out[(long long)lane * n + j] = s + b;
    }
}

extern "C" __global__ void __launch_bounds__(256) gemv_half_split(const float* x, const void* w, int w_type, long long ldw,
                                           const void* bias, int bias_type, float* out,
                                           int rows, int n, int k, int split) {
    if (w_type == DT_BF16) {
        gemv_split_rows<__nv_bfloat16>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias, bias_type, out, rows, n, k, split);
    } else {
        gemv_split_rows<__half>(x, static_cast<const __half*>(w), ldw, bias, bias_type, out, rows, n, k, split);
    }
}

// Decode GEMV that reuses activations across weight rows (vec case only, as gemv_half_split).
// A block of 256 threads (8 warps) serves 8 / split groups of R consecutive output features;
// each group's k is split over `split` warps. Per step a lane issues R * U = GEMV_MULTI_LOADS
// 16-byte weight loads (U chunks of each of the R rows, streamed with evict-first) before any
// arithmetic, then reads each x float4 pair once and multiplies it into all R rows: the x traffic
// per weight byte drops R-fold and every warp keeps 4 KB of weights in flight.
// XS: x (rows * k floats) is first staged in dynamic shared memory (while L2 fetches each warp's
// first weight step) and the blocks walk the feature groups grid-stride (the host launches one
// wave), so x comes from shared memory.
// MAXR: the most rows of x the instantiation serves (1 for decode, GEMV_MAX_ROWS otherwise).
// Each output is sum over the k-slices p (in order) of the warp_sum of one lane's running F32 sum
// of 8-product partial sums, as in gemv_half_split: same arithmetic, fixed order run to run.
template <typename H, int R, bool XS, int MAXR>
__device__ void gemv_multi_rows(const float* __restrict__ x, const H* __restrict__ w, long long ldw,
                                const void* bias, int bias_type, float* __restrict__ out,
                                int rows, int n, int k, int split) {
    constexpr int U = GEMV_MULTI_LOADS / R;
    extern __shared__ float4 xs[];
    __shared__ float partial[GEMV_MULTI_THREADS / 32][R][MAXR];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int slots = (GEMV_MULTI_THREADS / 32) / split;   // feature groups per block
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    const float4* xv = reinterpret_cast<const float4*>(x);
    int groups = (n + R * slots - 1) / (R * slots);
    if (XS) {
        // Ask L2 for this warp's first weight step, so HBM works while x is staged.
        int j0 = (blockIdx.x * slots + group) * R;
        int c0 = part * 32 * U + lane;
        if (blockIdx.x < groups && j0 < n) gemv_core_prefetch<H, R, U>(w, ldw, j0, n, c0, chunks);
        // Four float4 loads per thread in flight before their stores to shared memory.
        int count = rows * chunks * 2;
        for (int i0 = threadIdx.x; i0 < count; i0 += 4 * GEMV_MULTI_THREADS) {
            float4 v[4];
#pragma unroll
            for (int t = 0; t < 4; t++) {
                int i = i0 + t * GEMV_MULTI_THREADS;
                v[t] = i < count ? __ldg(xv + i) : make_float4(0.f, 0.f, 0.f, 0.f);
            }
#pragma unroll
            for (int t = 0; t < 4; t++) {
                int i = i0 + t * GEMV_MULTI_THREADS;
                if (i < count) xs[i] = v[t];
            }
        }
        __syncthreads();
        xv = xs;
    }
    for (int g = blockIdx.x; g < groups; g += gridDim.x) {
        int j0 = (g * slots + group) * R;
        float acc[R][MAXR];
#pragma unroll
        for (int q = 0; q < R; q++) {
#pragma unroll
            for (int r = 0; r < MAXR; r++) acc[q][r] = 0.f;
        }
        if (j0 < n) {
            const uint4* wr[R];
#pragma unroll
            for (int q = 0; q < R; q++) {
                int j = min(j0 + q, n - 1);   // rows past n re-read row n-1; their sums are not stored
                wr[q] = reinterpret_cast<const uint4*>(w + (long long)j * ldw);
            }
            gemv_core_accumulate<H, R, XS, MAXR>(xv, wr, rows, chunks, part, split, lane, acc);
        }
        gemv_core_publish<R, MAXR>(acc, partial, rows, warp, lane);
        if (part == 0 && lane < R * rows) {
            int q = lane / rows;
            int r = lane - q * rows;
            int j = j0 + q;
            if (j < n) {
                float s = gemv_core_total<R, MAXR>(partial, warp, split, q, r);
                float b = bias == nullptr ? 0.f : load_float(bias, bias_type, j);
                out[(long long)r * n + j] = s + b;
            }
        }
        if (XS) __syncthreads();   // partial is rewritten by the next group
    }
}

#define GEMV_MULTI_KERNEL(NAME, R, XS, MAXR)                                                                   \
    extern "C" __global__ void __launch_bounds__(GEMV_MULTI_THREADS, 2)                                        \
    NAME(const float* x, const void* w, int w_type, long long ldw, const void* bias, int bias_type, float* out, \
         int rows, int n, int k, int split) {                                                                  \
        if (w_type == DT_BF16) {                                                                               \
            gemv_multi_rows<__nv_bfloat16, R, XS, MAXR>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias,    \
                                                        bias_type, out, rows, n, k, split);                    \
        } else {                                                                                               \
            gemv_multi_rows<__half, R, XS, MAXR>(x, static_cast<const __half*>(w), ldw, bias, bias_type, out,  \
                                                 rows, n, k, split);                                           \
        }                                                                                                      \
    }

// multi2 / multi4: R = 2 / 4 features per warp, x through L1; smem: R = 4 with x in shared memory.
// The _1 kernels serve one row of x (decode) with a quarter of the registers for sums.
GEMV_MULTI_KERNEL(gemv_half_multi2_1, 2, false, 1)
GEMV_MULTI_KERNEL(gemv_half_multi2, 2, false, GEMV_MAX_ROWS)
GEMV_MULTI_KERNEL(gemv_half_multi4_1, 4, false, 1)
GEMV_MULTI_KERNEL(gemv_half_multi4, 4, false, GEMV_MAX_ROWS)
GEMV_MULTI_KERNEL(gemv_half_smem_1, 4, true, 1)
GEMV_MULTI_KERNEL(gemv_half_smem, 4, true, GEMV_MAX_ROWS)
