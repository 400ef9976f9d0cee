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

// Four consecutive elements of a float array of element type T (float, __half, __nv_bfloat16) as F32,
// with one vector access: 16 bytes for F32, 8 for F16/BF16, so index i must be a multiple of 4 and
// the array 4-element aligned. Narrowing stores round to nearest even.
template <typename T>
struct Vec4;
template <>
struct Vec4<float> {
    __device__ static void load(const void* p, long long i, float (&v)[4]) {
        float4 t = *reinterpret_cast<const float4*>(static_cast<const float*>(p) + i);
        v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
    }
    __device__ static void store(void* p, long long i, const float (&v)[4]) {
        *reinterpret_cast<float4*>(static_cast<float*>(p) + i) = make_float4(v[0], v[1], v[2], v[3]);
    }
};
template <>
struct Vec4<__nv_bfloat16> {
    __device__ static void load(const void* p, long long i, float (&v)[4]) {
        uint2 raw = *reinterpret_cast<const uint2*>(static_cast<const __nv_bfloat16*>(p) + i);
        float2 a = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&raw.x));
        float2 b = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&raw.y));
        v[0] = a.x; v[1] = a.y; v[2] = b.x; v[3] = b.y;
    }
    __device__ static void store(void* p, long long i, const float (&v)[4]) {
        __nv_bfloat162 a = __floats2bfloat162_rn(v[0], v[1]), b = __floats2bfloat162_rn(v[2], v[3]);
        uint2 raw;
        raw.x = *reinterpret_cast<unsigned int*>(&a);
        raw.y = *reinterpret_cast<unsigned int*>(&b);
        *reinterpret_cast<uint2*>(static_cast<__nv_bfloat16*>(p) + i) = raw;
    }
};
template <>
struct Vec4<__half> {
    __device__ static void load(const void* p, long long i, float (&v)[4]) {
        uint2 raw = *reinterpret_cast<const uint2*>(static_cast<const __half*>(p) + i);
        float2 a = __half22float2(*reinterpret_cast<__half2*>(&raw.x));
        float2 b = __half22float2(*reinterpret_cast<__half2*>(&raw.y));
        v[0] = a.x; v[1] = a.y; v[2] = b.x; v[3] = b.y;
    }
    __device__ static void store(void* p, long long i, const float (&v)[4]) {
        __half2 a = __floats2half2_rn(v[0], v[1]), b = __floats2half2_rn(v[2], v[3]);
        uint2 raw;
        raw.x = *reinterpret_cast<unsigned int*>(&a);
        raw.y = *reinterpret_cast<unsigned int*>(&b);
        *reinterpret_cast<uint2*>(static_cast<__half*>(p) + i) = raw;
    }
};

// Vec4 on a runtime dtype code (DT_F32, DT_F16, DT_BF16).
__device__ __forceinline__ void load4(const void* p, int dt, long long i, float (&v)[4]) {
    switch (dt) {
        case DT_F16: Vec4<__half>::load(p, i, v); break;
        case DT_BF16: Vec4<__nv_bfloat16>::load(p, i, v); break;
        default: Vec4<float>::load(p, i, v); break;
    }
}

__device__ __forceinline__ void store4(void* p, int dt, long long i, const float (&v)[4]) {
    switch (dt) {
        case DT_F16: Vec4<__half>::store(p, i, v); break;
        case DT_BF16: Vec4<__nv_bfloat16>::store(p, i, v); break;
        default: Vec4<float>::store(p, i, v); break;
    }
}
