// Decode-shaped linear layers with F16/BF16 weights: out[r, j] = sum_k x[r, k] * w[j, k] + bias[j]
// for r < rows <= 8. F32 activations are read as is and weights are widened in registers, so the
// result matches the CPU backend's F32 accumulation; each weight row is streamed once.
#include "common.cuh"

#define GEMV_MAX_ROWS 8

template <typename H>
__device__ __forceinline__ float widen(H h);
template <>
__device__ __forceinline__ float widen<__half>(__half h) { return __half2float(h); }
template <>
__device__ __forceinline__ float widen<__nv_bfloat16>(__nv_bfloat16 h) { return __bfloat162float(h); }

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
