// Shared device helpers for Glimpse's CUDA kernels: dtype codes (the order of
// dev.glimpse.kernels.DType), loads/stores with conversion, warp and block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

enum DTypeCode { DT_F32 = 0, DT_F16 = 1, DT_BF16 = 2, DT_I32 = 3, DT_I64 = 4, DT_U8 = 5, DT_BOOL = 6 };

__device__ __forceinline__ bool is_float_type(int dt) { return dt <= DT_BF16; }

__device__ __forceinline__ float load_float(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_F16: return __half2float(static_cast<const __half*>(p)[i]);
        case DT_BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
        default: return static_cast<const float*>(p)[i];
    }
}

__device__ __forceinline__ void store_float(void* p, int dt, long long i, float v) {
    switch (dt) {
        case DT_F16: static_cast<__half*>(p)[i] = __float2half_rn(v); break;
        case DT_BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
        default: static_cast<float*>(p)[i] = v; break;
    }
}

__device__ __forceinline__ long long load_int(const void* p, int dt, long long i) {
    switch (dt) {
        case DT_I32: return static_cast<const int*>(p)[i];
        case DT_I64: return static_cast<const long long*>(p)[i];
        default: return static_cast<const unsigned char*>(p)[i];
    }
}

__device__ __forceinline__ void store_int(void* p, int dt, long long i, long long v) {
    switch (dt) {
        case DT_I32: static_cast<int*>(p)[i] = static_cast<int>(v); break;
        case DT_I64: static_cast<long long*>(p)[i] = v; break;
        case DT_U8: static_cast<unsigned char*>(p)[i] = static_cast<unsigned char>(v); break;
        default: static_cast<unsigned char*>(p)[i] = v != 0 ? 1 : 0; break;
    }
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide sum; every thread gets the result. scratch holds 32 floats; blockDim.x % 32 == 0.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(r);
}

// Block-wide max (NaN-ignoring, as fmaxf); every thread gets the result.
__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(r);
}

// Block-wide inclusive prefix sum of ints in thread order; scratch holds 32 ints.
__device__ __forceinline__ int block_scan_inclusive(int v, int* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int o = 1; o < 32; o <<= 1) {
        int n = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += n;
    }
    __syncthreads();
    if (lane == 31) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int t = lane < warps ? scratch[lane] : 0;
        for (int o = 1; o < 32; o <<= 1) {
            int n = __shfl_up_sync(0xffffffffu, t, o);
            if (lane >= o) t += n;
        }
        if (lane < warps) scratch[lane] = t;
    }
    __syncthreads();
    return warp > 0 ? v + scratch[warp - 1] : v;
}
