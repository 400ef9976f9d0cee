// Shared by the decode attention modules (decode.cu, decode_online16.cu, decode_wide.cu): block shape,
// key counts, the fused kernels' head blocks and split counts, widened cache loads.
#pragma once
#include "common.cuh"

#define DEC_THREADS 128
#define DEC_KEY_LANES 8
#define DEC_MAX_HEADS DEC_KEY_LANES
#define DEC_ROWS_PER_PASS (2 * DEC_THREADS / DEC_KEY_LANES)
#define DEC_MIN_CHUNK 64
#define DEC_MAX_CHUNK 256

__device__ __forceinline__ int decode_keys(const int* key_count, int capacity) {
    return min(max(*key_count, 0), capacity);
}

// The query heads of block (x, s) of a split kernel's grid (kv_heads * head_blocks, splits): heads
// h0 .. h0 + nh - 1 of kv head kv's group, heads_per_block of them (fewer in a group's last block).
struct DecodeHeads {
    int kv, h0, nh;
};

__device__ __forceinline__ DecodeHeads decode_heads(int q_heads, int kv_heads, int heads_per_block) {
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int h0 = kv * group + (blockIdx.x % head_blocks) * heads_per_block;
    return {kv, h0, min(heads_per_block, (kv + 1) * group - h0)};
}

// A fused kernel with no keys: split 0's blocks (THREADS threads) write zeros to their heads' rows of
// out [q_heads, dim].
template <int THREADS>
__device__ __forceinline__ void decode_zero_heads(float* out, int h0, int nh, int dim) {
    if (blockIdx.y == 0) {
        for (int i = threadIdx.x; i < nh * dim; i += THREADS) out[(long long)h0 * dim + i] = 0.f;
    }
}

// A fused kernel's count of finished splits, once a block has written its partials: the block fences
// them and counts itself in counters[blockIdx.x] (an atomic add); nonzero in every thread of the block
// that completes the count of used blocks (that block merges), which resets the counter to zero for
// the next launch. merges: a __shared__ int of the caller (one declared in this function instead comes
// first in the module's shared layout, and ptxas then emits other code for decode_online16.cu).
__device__ __forceinline__ int decode_last_split(int* counters, int used, int& merges) {
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        const bool last = atomicAdd(counters + blockIdx.x, 1) == used - 1;
        if (last) {
            atomicExch(counters + blockIdx.x, 0);
            __threadfence();
        }
        merges = last;
    }
    __syncthreads();
    return merges;
}

// Keys per split: the count spread over the splits, a multiple of DEC_ROWS_PER_PASS, at least
// DEC_MIN_CHUNK. The host picks splits >= capacity / DEC_MAX_CHUNK, so it never exceeds DEC_MAX_CHUNK.
__device__ __forceinline__ int decode_chunk(int keys, int splits) {
    int per = (keys + splits - 1) / splits;
    per = (per + DEC_ROWS_PER_PASS - 1) / DEC_ROWS_PER_PASS * DEC_ROWS_PER_PASS;
    return max(per, DEC_MIN_CHUNK);
}

// VW consecutive values widened to F32: one 16-byte load for VW = 4 (F32) and VW = 8 (F32: two;
// 16-bit: 8 values, the low half of each 32-bit word first), one 8-byte load for 16-bit VW = 4,
// else one load per value.
template <int VW>
__device__ __forceinline__ void load_vec(const float* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        float4 t = *reinterpret_cast<const float4*>(p);
        x[0] = t.x;
        x[1] = t.y;
        x[2] = t.z;
        x[3] = t.w;
    } else if constexpr (VW == 8) {
        float4 a = *reinterpret_cast<const float4*>(p);
        float4 b = *reinterpret_cast<const float4*>(p + 4);
        x[0] = a.x;
        x[1] = a.y;
        x[2] = a.z;
        x[3] = a.w;
        x[4] = b.x;
        x[5] = b.y;
        x[6] = b.z;
        x[7] = b.w;
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = p[i];
    }
}

template <int VW>
__device__ __forceinline__ void load_vec(const __nv_bfloat16* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        const uint2 t = *reinterpret_cast<const uint2*>(p);
        x[0] = __uint_as_float(t.x << 16);
        x[1] = __uint_as_float(t.x & 0xffff0000u);
        x[2] = __uint_as_float(t.y << 16);
        x[3] = __uint_as_float(t.y & 0xffff0000u);
    } else if constexpr (VW == 8) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        const unsigned w[4] = {t.x, t.y, t.z, t.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            x[2 * i] = __uint_as_float(w[i] << 16);
            x[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = __bfloat162float(p[i]);
    }
}

template <int VW>
__device__ __forceinline__ void load_vec(const __half* p, float (&x)[VW]) {
    if constexpr (VW == 4) {
        const uint2 t = *reinterpret_cast<const uint2*>(p);
        const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&t.x));
        const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&t.y));
        x[0] = a.x;
        x[1] = a.y;
        x[2] = b.x;
        x[3] = b.y;
    } else if constexpr (VW == 8) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        const unsigned w[4] = {t.x, t.y, t.z, t.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
            x[2 * i] = f.x;
            x[2 * i + 1] = f.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = __half2float(p[i]);
    }
}

// VW cache values as loaded by the online kernel: F32 values as floats; 8 16-bit values packed in
// four 32-bit words and widened where they are used (half the registers of 8 floats).
template <int VW, typename T>
struct KvVec {
    float x[VW];
    __device__ __forceinline__ void zero() {
#pragma unroll
        for (int i = 0; i < VW; i++) x[i] = 0.f;
    }
    __device__ __forceinline__ void load(const T* p) { load_vec<VW>(p, x); }
    __device__ __forceinline__ float operator[](int i) const { return x[i]; }
};

template <>
struct KvVec<8, __nv_bfloat16> {
    unsigned w[4];
    __device__ __forceinline__ void zero() { w[0] = w[1] = w[2] = w[3] = 0u; }
    __device__ __forceinline__ void load(const __nv_bfloat16* p) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        w[0] = t.x;
        w[1] = t.y;
        w[2] = t.z;
        w[3] = t.w;
    }
    __device__ __forceinline__ float operator[](int i) const {
        return __uint_as_float((i & 1) ? w[i >> 1] & 0xffff0000u : w[i >> 1] << 16);
    }
};

template <>
struct KvVec<8, __half> {
    unsigned w[4];
    __device__ __forceinline__ void zero() { w[0] = w[1] = w[2] = w[3] = 0u; }
    __device__ __forceinline__ void load(const __half* p) {
        const uint4 t = *reinterpret_cast<const uint4*>(p);
        w[0] = t.x;
        w[1] = t.y;
        w[2] = t.z;
        w[3] = t.w;
    }
    __device__ __forceinline__ float operator[](int i) const {
        return __half2float(__ushort_as_half((unsigned short)((i & 1) ? w[i >> 1] >> 16 : w[i >> 1] & 0xffffu)));
    }
};

// The merge's vector width for a split kernel's VW: partials are F32, read 4 at a time at most.
#define MERGE_VW(VW) ((VW) > 4 ? 4 : (VW))
