// The last block's merge of flash-decoding splits (decode.cu, decode_online16.cu).
#pragma once
#include "decode_common.cuh"

// Splits 0 .. used - 1 (used >= 1) of heads h0 .. h0 + nh - 1 merged into out [q_heads, dim]: one
// warp per head takes the max m of the splits' maxima and l = sum of sum_s * exp(max_s - m) (lane
// partial sums over splits 32 apart, then warp_sum); then each (head, VW columns) item sums
// exp(max_s - m) * acc_s over s in order and scales by 1 / l. Every output's operations depend on
// used and the partials only (not on nh, VW or the block), so the standalone combine and the fused
// kernel's last block write the same bits. Partials are read through L2 (__ldcg): other blocks of
// the fused kernel wrote them during this launch.
template <int VW>
__device__ __noinline__ void decode_merge(const float* __restrict__ partial_acc, const float* __restrict__ partial_stats,
                             float* __restrict__ out, int h0, int nh, int used, int dim, int splits) {
    __shared__ float head_max[DEC_MAX_HEADS], head_inv[DEC_MAX_HEADS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int h = warp; h < nh; h += DEC_THREADS / 32) {
        const float* st = partial_stats + (long long)(h0 + h) * splits * 2;
        float m = -INFINITY;
        for (int s = lane; s < used; s += 32) m = fmaxf(m, __ldcg(st + 2 * s));
        m = warp_max(m);
        float l = 0.f;
        for (int s = lane; s < used; s += 32) l += __ldcg(st + 2 * s + 1) * expf(__ldcg(st + 2 * s) - m);
        l = warp_sum(l);
        if (lane == 0) {
            head_max[h] = m;
            head_inv[h] = 1.f / l;
        }
    }
    __syncthreads();
    const int cols = dim / VW;
    for (int item = threadIdx.x; item < nh * cols; item += DEC_THREADS) {
        const int h = item / cols, c = item - h * cols;
        const float* st = partial_stats + (long long)(h0 + h) * splits * 2;
        const float* acc = partial_acc + (long long)(h0 + h) * splits * dim + c * VW;
        const float m = head_max[h];
        float a[VW];
#pragma unroll
        for (int i = 0; i < VW; i++) a[i] = 0.f;
#pragma unroll 8
        for (int s = 0; s < used; s++) {
            const float e = expf(__ldcg(st + 2 * s) - m);
            float x[VW];
            if constexpr (VW == 4) {
                float4 t = __ldcg(reinterpret_cast<const float4*>(acc + (long long)s * dim));
                x[0] = t.x;
                x[1] = t.y;
                x[2] = t.z;
                x[3] = t.w;
            } else {
                x[0] = __ldcg(acc + (long long)s * dim);
            }
#pragma unroll
            for (int i = 0; i < VW; i++) a[i] += e * x[i];
        }
        float* o = out + (long long)(h0 + h) * dim + c * VW;
        const float inv = head_inv[h];
#pragma unroll
        for (int i = 0; i < VW; i++) o[i] = a[i] * inv;
    }
}
