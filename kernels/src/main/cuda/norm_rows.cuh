// Helpers of the vectorised LayerNorm / RMSNorm row kernels: rows.cu's _v4_<VPT> kernels and norm_rows.cu's
// variants of them (the same values, bit for bit).
#pragma once

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

// The out row of token-major LayerNorm: x row blockIdx.x = b * tokens + t of [batch, tokens, n] goes to out row
// t * batch + b of [tokens, batch, n].
__device__ __forceinline__ long long token_major_base(int batch, int tokens, int n) {
    const int b = blockIdx.x / tokens;
    const int t = blockIdx.x - b * tokens;
    return ((long long)t * batch + b) * n;
}
