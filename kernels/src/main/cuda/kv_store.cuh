// Stores into a KV cache (decode.cu, decode_fused.cu): F32 entries as is, BF16 / F16 entries rounded
// to nearest even.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__device__ __forceinline__ void store_kv(float* p, float x) { *p = x; }
__device__ __forceinline__ void store_kv(__nv_bfloat16* p, float x) { *p = __float2bfloat16_rn(x); }
__device__ __forceinline__ void store_kv(__half* p, float x) { *p = __float2half_rn(x); }
