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
