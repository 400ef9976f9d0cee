// Helpers of the vectorised LayerNorm / RMSNorm row kernels: rows.cu's _v4_<VPT> kernels and norm_rows.cu's
// variants of them (the same values, bit for bit). gamma and beta are read through a generic pointer: global
// memory in rows.cu, norm_rows.cu's staged shared copies.
#pragma once
#include "common.cuh"

// This thread's VPT float4 of the row of n = 4 * nv floats at x + base (zeros past the row's end).
template <int VPT>
__device__ __forceinline__ void load_row_v4(const float* x, long long base, int nv, float4 (&v)[VPT]) {
    const float4* row = reinterpret_cast<const float4*>(x + base);
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int c = threadIdx.x + j * blockDim.x;
        v[j] = c < nv ? row[c] : make_float4(0.f, 0.f, 0.f, 0.f);
    }
}

// This thread's share of the row sum (LayerNorm's mean), in the order every norm kernel adds it.
template <int VPT>
__device__ __forceinline__ float row_sum_v4(const float4 (&v)[VPT]) {
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < VPT; j++) s += (v[j].x + v[j].y) + (v[j].z + v[j].w);
    return s;
}

// This thread's share of the sum of squared deviations from mean (LayerNorm's variance); entries past the row's
// n = 4 * nv floats add nothing.
template <int VPT>
__device__ __forceinline__ float centered_squares_v4(const float4 (&v)[VPT], float mean, int nv) {
    float q = 0.f;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        if (threadIdx.x + j * blockDim.x < nv) {
            float a = v[j].x - mean, b = v[j].y - mean, c = v[j].z - mean, d = v[j].w - mean;
            q += (a * a + b * b) + (c * c + d * d);
        }
    }
    return q;
}

// This thread's share of the row's sum of squares (RMSNorm's mean square).
template <int VPT>
__device__ __forceinline__ float row_squares_v4(const float4 (&v)[VPT]) {
    float q = 0.f;
#pragma unroll
    for (int j = 0; j < VPT; j++) q += (v[j].x * v[j].x + v[j].y * v[j].y) + (v[j].z * v[j].z + v[j].w * v[j].w);
    return q;
}

// LayerNorm's outputs of this thread's VPT float4 v (the row's values): (v - mean) * rstd * gamma + beta, each
// 4 elements stored at out_base + 4 * c by store4 (out_type). has_beta: beta is read (else + 0.f).
template <int VPT>
__device__ __forceinline__ void store_layer_norm_v4(const float4 (&v)[VPT], float mean, float rstd, const void* gamma,
                                                    int gamma_type, bool has_beta, const void* beta, int beta_type,
                                                    void* out, int out_type, long long out_base, int nv) {
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int c = threadIdx.x + j * blockDim.x;
        if (c < nv) {
            int i = c * 4;
            float g[4], b[4] = {0.f, 0.f, 0.f, 0.f};
            load4(gamma, gamma_type, i, g);
            if (has_beta) load4(beta, beta_type, i, b);
            float o[4] = {(v[j].x - mean) * rstd * g[0] + b[0], (v[j].y - mean) * rstd * g[1] + b[1],
                          (v[j].z - mean) * rstd * g[2] + b[2], (v[j].w - mean) * rstd * g[3] + b[3]};
            store4(out, out_type, out_base + i, o);
        }
    }
}

// RMSNorm's outputs of this thread's VPT float4 v: v * rstd * gamma, stored as store_layer_norm_v4 does.
template <int VPT>
__device__ __forceinline__ void store_rms_norm_v4(const float4 (&v)[VPT], float rstd, const void* gamma, int gamma_type,
                                                  void* out, int out_type, long long out_base, int nv) {
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int c = threadIdx.x + j * blockDim.x;
        if (c < nv) {
            int i = c * 4;
            float g[4];
            load4(gamma, gamma_type, i, g);
            float o[4] = {v[j].x * rstd * g[0], v[j].y * rstd * g[1], v[j].z * rstd * g[2], v[j].w * rstd * g[3]};
            store4(out, out_type, out_base + i, o);
        }
    }
}

// The out row of token-major LayerNorm: x row blockIdx.x = b * tokens + t of [batch, tokens, n] goes to out row
// t * batch + b of [tokens, batch, n].
__device__ __forceinline__ long long token_major_base(int batch, int tokens, int n) {
    const int b = blockIdx.x / tokens;
    const int t = blockIdx.x - b * tokens;
    return ((long long)t * batch + b) * n;
}
