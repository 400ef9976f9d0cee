// The 16-byte RoPE and KV cache stores of rows.cu's rope_append_kv_rows_vec[_bf16|_f16], shared with the fused
// prefill RoPE + append + attention kernels (prefill_rope_attention.cu), so both round and rotate with the same
// instructions and write the same bits.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

template <typename T>
__device__ __forceinline__ uint32_t kv_pair_bits(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t kv_pair_bits<__nv_bfloat16>(float lo, float hi) {
    return (uint32_t)__bfloat16_as_ushort(__float2bfloat16_rn(lo)) |
           ((uint32_t)__bfloat16_as_ushort(__float2bfloat16_rn(hi)) << 16);
}

template <>
__device__ __forceinline__ uint32_t kv_pair_bits<__half>(float lo, float hi) {
    return (uint32_t)__half_as_ushort(__float2half_rn(lo)) | ((uint32_t)__half_as_ushort(__float2half_rn(hi)) << 16);
}

// Four consecutive cache values (16-byte aligned F32, 8-byte aligned 16-bit), rounded as store_kv rounds.
template <typename T>
__device__ __forceinline__ void store4_kv(T* p, float4 x) {
    if constexpr (sizeof(T) == 4) {
        *reinterpret_cast<float4*>(p) = x;
    } else {
        *reinterpret_cast<uint2*>(p) = make_uint2(kv_pair_bits<T>(x.x, x.y), kv_pair_bits<T>(x.z, x.w));
    }
}

// Eight consecutive cache values (16-byte aligned), rounded as store_kv rounds.
template <typename T>
__device__ __forceinline__ void store8_kv(T* p, float4 a, float4 b) {
    if constexpr (sizeof(T) == 4) {
        reinterpret_cast<float4*>(p)[0] = a;
        reinterpret_cast<float4*>(p)[1] = b;
    } else {
        *reinterpret_cast<uint4*>(p) = make_uint4(kv_pair_bits<T>(a.x, a.y), kv_pair_bits<T>(a.z, a.w),
                                                  kv_pair_bits<T>(b.x, b.y), kv_pair_bits<T>(b.z, b.w));
    }
}

// rope_append_rows' rotation of one pair, written as it is there (the compiler contracts it the same way).
__device__ __forceinline__ void rope_rotate(float lo, float hi, float c, float s, float& rlo, float& rhi) {
    rlo = lo * c - hi * s;
    rhi = hi * c + lo * s;
}

__device__ __forceinline__ void rope_rotate4(float4 lo, float4 hi, float4 c, float4 s, float4& rlo, float4& rhi) {
    rope_rotate(lo.x, hi.x, c.x, s.x, rlo.x, rhi.x);
    rope_rotate(lo.y, hi.y, c.y, s.y, rlo.y, rhi.y);
    rope_rotate(lo.z, hi.z, c.z, s.z, rlo.z, rhi.z);
    rope_rotate(lo.w, hi.w, c.w, s.w, rlo.w, rhi.w);
}

// rope_rotate with the contraction ptxas gives it spelled out in round-to-nearest intrinsics, which neither NVVM
// nor ptxas fuse or reorder: rlo = fma(-hi, s, lo * c), rhi = fma(hi, c, lo * s). rope_append_kv_rows_vec*
// compiled with these instead of rope_rotate differ from the committed SASS (sm_80, sm_90) only in integer
// register choices (tools/cuda/sass-diff.sh, 2026-11-29), so their floating-point instructions are these. A kernel
// that must reproduce rows.cu's rotated values bit for bit (prefill_rope_attention.cu) rotates here, so its own
// surroundings cannot steer ptxas to the other contraction, fma(lo, c, -(hi * s)).
__device__ __forceinline__ void rope_rotate_rn(float lo, float hi, float c, float s, float& rlo, float& rhi) {
    rlo = __fmaf_rn(-hi, s, __fmul_rn(lo, c));
    rhi = __fmaf_rn(hi, c, __fmul_rn(lo, s));
}

__device__ __forceinline__ void rope_rotate4_rn(float4 lo, float4 hi, float4 c, float4 s, float4& rlo, float4& rhi) {
    rope_rotate_rn(lo.x, hi.x, c.x, s.x, rlo.x, rhi.x);
    rope_rotate_rn(lo.y, hi.y, c.y, s.y, rlo.y, rhi.y);
    rope_rotate_rn(lo.z, hi.z, c.z, s.z, rlo.z, rhi.z);
    rope_rotate_rn(lo.w, hi.w, c.w, s.w, rlo.w, rhi.w);
}
