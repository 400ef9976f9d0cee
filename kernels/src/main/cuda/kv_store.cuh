// Stores into a KV cache (decode.cu, decode_fused.cu, rows.cu): F32 entries as is, BF16 / F16 entries rounded
// to nearest even.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__device__ __forceinline__ void store_kv(float* p, float x) { *p = x; }
__device__ __forceinline__ void store_kv(__nv_bfloat16* p, float x) { *p = __float2bfloat16_rn(x); }
__device__ __forceinline__ void store_kv(__half* p, float x) { *p = __float2half_rn(x); }

// Entry `entry` of head h in a head-major cache [heads, capacity, dim].
template <typename T>
__device__ __forceinline__ T* cache_entry(T* cache, int h, int capacity, long long entry, int dim) {
    return cache + ((long long)h * capacity + entry) * dim;
}

// One rotated pair of a RoPE + KV append (rows.cu rope_append_rows, decode_fused.cu rope_append): rlo to dim
// i and rhi to dim i + half of head h, in q_rows (the token's F32 q [heads, dim]) when is_q, else in the
// head's key cache entry (store_kv).
template <typename T>
__device__ __forceinline__ void store_rope_pair(bool is_q, float* q_rows, T* key_cache, int h, int capacity,
                                                long long entry, int dim, int i, int half, float rlo, float rhi) {
    if (is_q) {
        float* dst = q_rows + (long long)h * dim;
        dst[i] = rlo;
        dst[i + half] = rhi;
    } else {
        T* dst = cache_entry(key_cache, h, capacity, entry, dim);
        store_kv(dst + i, rlo);
        store_kv(dst + i + half, rhi);
    }
}
