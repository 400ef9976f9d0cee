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

// The rotation of one pair, rlo = lo * c - hi * s and rhi = hi * c + lo * s (rope_append_rows'), with the contraction
// nvcc gave rope_append_kv_rows_vec* spelled out in round-to-nearest intrinsics, which neither NVVM nor ptxas fuse or
// reorder: rlo = fma(lo, c, -(hi * s)), rhi = fma(lo, s, hi * c), i.e. hi * s and hi * c rounded, lo * c and lo * s
// exact inside the fma. From the plain expressions NVVM (nvcc 13.0) emits rhi as that fma in the PTX and leaves rlo
// as mul, mul, sub, which ptxas fuses into that fma; rows.cu compiled with this spelling is SASS-identical to the
// plain one on sm_80 and sm_90, every kernel (tools/cuda/sass-diff.sh, 2026-11-29), so rows.cu's bits are unchanged.
// Spelled out, the rotation no longer depends on what a compiler makes of each caller's surroundings (ptxas for
// sm_80 / sm_90, or the driver's JIT of the compute_90 PTX on newer GPUs): rope_append_kv_rows_vec* and the fused
// prefill_rope_attention kernels, which must store the same bits, run the same float instructions.
// The fused kernels' first spelling, fma(-hi, s, lo * c) and fma(hi, c, lo * s), rounded the other product of each
// pair: a third of the F32 results differed and about 1 in 2^15 BF16 (2^13 F16) cache entries and rotated
// queries by one 16-bit ulp, which failed CudaPrefillRopeAttentionTest wherever a case had enough of them (H200,
// 2026-11-29; replaying the test's data on the CPU with both spellings gives exactly its failures).
__device__ __forceinline__ void rope_rotate(float lo, float hi, float c, float s, float& rlo, float& rhi) {
    rlo = __fmaf_rn(lo, c, -__fmul_rn(hi, s));
    rhi = __fmaf_rn(lo, s, __fmul_rn(hi, c));
}

__device__ __forceinline__ void rope_rotate4(float4 lo, float4 hi, float4 c, float4 s, float4& rlo, float4& rhi) {
    rope_rotate(lo.x, hi.x, c.x, s.x, rlo.x, rhi.x);
    rope_rotate(lo.y, hi.y, c.y, s.y, rlo.y, rhi.y);
    rope_rotate(lo.z, hi.z, c.z, s.z, rlo.z, rhi.z);
    rope_rotate(lo.w, hi.w, c.w, s.w, rlo.w, rhi.w);
}
