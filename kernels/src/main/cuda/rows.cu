// Row kernels over packed F32 [rows, n]: softmax, LayerNorm, RMSNorm, L2 norm, argmax; and RoPE, alone
// or with a prefill block's KV cache append (rope_append_kv_rows).
// LayerNorm and RMSNorm may store F16/BF16 (GEMM inputs for 16-bit weights).
// Softmax ignores NaN in the max (fmaxf) but a NaN still reaches the sum, so the row comes out NaN
// as torch's does.
// One block per row; reductions in F32 in the same order of operations as the CPU backend
// (max then exp-sum for softmax; mean then centred squares for LayerNorm).
// Programmatic dependent launch (-Dglimpse.cuda.pdlPrefill=true, grid_dependency.cuh): every kernel
// but l2_norm_rows and argmax_rows starts with grid_dependency_wait(); rope_append_kv_rows*, which the
// prefill attention follows, with grid_dependency_enter() (wait, then let the attention's blocks be
// placed).
#include "common.cuh"
#include "grid_dependency.cuh"
#include "kv_store.cuh"
#include "norm_rows.cuh"

extern "C" __global__ void softmax_rows(const float* x, float* out, int n) {
    grid_dependency_wait();
    __shared__ float scratch[32];
    const float* row = x + (long long)blockIdx.x * n;
    float* dst = out + (long long)blockIdx.x * n;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i]);
    m = block_max(m, scratch);
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += expf(row[i] - m);
    s = block_sum(s, scratch);
    for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = expf(row[i] - m) / s;
}

// LayerNorm and RMSNorm store to out of out_type (F32, F16, BF16): F32 math, rounded to nearest even on store.
// layer_norm_row normalises row blockIdx.x of x into the out row starting at element out_base.
__device__ __forceinline__ void layer_norm_row(const float* x, const void* gamma, int gamma_type, const void* beta,
                                               int beta_type, float eps, void* out, int out_type, int n,
                                               long long out_base) {
    __shared__ float scratch[32];
    const float* row = x + (long long)blockIdx.x * n;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += row[i];
    float mean = block_sum(s, scratch) / n;
    float q = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float d = row[i] - mean;
        q += d * d;
    }
    float var = block_sum(q, scratch) / n;
    float rstd = (float)(1.0 / sqrt((double)(var + eps)));
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float b = beta == nullptr ? 0.f : load_float(beta, beta_type, i);
        store_float(out, out_type, out_base + i, (row[i] - mean) * rstd * load_float(gamma, gamma_type, i) + b);
    }
}

extern "C" __global__ void layer_norm_rows(const float* x, const void* gamma, int gamma_type, const void* beta,
                                           int beta_type, float eps, void* out, int out_type, int n) {
    grid_dependency_wait();
    layer_norm_row(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n, (long long)blockIdx.x * n);
}

extern "C" __global__ void rms_norm_rows(const float* x, const void* gamma, int gamma_type, float eps, void* out,
                                         int out_type, int n) {
    grid_dependency_wait();
    __shared__ float scratch[32];
    const float* row = x + (long long)blockIdx.x * n;
    const long long base = (long long)blockIdx.x * n;
    float q = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) q += row[i] * row[i];
    float variance = block_sum(q, scratch) / n;
    float rstd = (float)(1.0 / sqrt((double)(variance + eps)));
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        store_float(out, out_type, base + i, row[i] * rstd * load_float(gamma, gamma_type, i));
    }
}

// Vectorised LayerNorm / RMSNorm for rows of n % 4 == 0 floats (n <= 4 * VPT * blockDim.x), x rows and
// out 4-element aligned: each thread loads its VPT float4 of the row once into registers, the
// statistics are reduced from there (LayerNorm: mean, then centred squares, as above) and the
// outputs go out as one vector store per 4 elements. Same formulas as layer_norm_rows / rms_norm_rows;
// only the grouping of the F32 partial sums differs (per thread: 4 consecutive elements at a time).
// load_row_v4, the partial sums and the output loops (store_layer_norm_v4, store_rms_norm_v4) are in
// norm_rows.cuh: norm_rows.cu's variants of these kernels share them, with gamma and beta read from shared memory.
template <int VPT>
__device__ __forceinline__ void layer_norm_v4(const float* x, const void* gamma, int gamma_type, const void* beta,
                                              int beta_type, float eps, void* out, int out_type, int n,
                                              long long out_base) {
    __shared__ float scratch[32];
    const long long base = (long long)blockIdx.x * n;
    const int nv = n >> 2;
    float4 v[VPT];
    load_row_v4<VPT>(x, base, nv, v);
    float s = row_sum_v4<VPT>(v);
    const float mean = block_sum(s, scratch) / n;
    float q = centered_squares_v4<VPT>(v, mean, nv);
    const float var = block_sum(q, scratch) / n;
    const float rstd = (float)(1.0 / sqrt((double)(var + eps)));
    store_layer_norm_v4<VPT>(v, mean, rstd, gamma, gamma_type, beta != nullptr, beta, beta_type, out, out_type,
                             out_base, nv);
}

template <int VPT>
__device__ __forceinline__ void rms_norm_v4(const float* x, const void* gamma, int gamma_type, float eps, void* out,
                                            int out_type, int n) {
    __shared__ float scratch[32];
    const long long base = (long long)blockIdx.x * n;
    const int nv = n >> 2;
    float4 v[VPT];
    load_row_v4<VPT>(x, base, nv, v);
    float q = row_squares_v4<VPT>(v);
    const float variance = block_sum(q, scratch) / n;
    const float rstd = (float)(1.0 / sqrt((double)(variance + eps)));
    store_rms_norm_v4<VPT>(v, rstd, gamma, gamma_type, out, out_type, base, nv);
}

// layer_norm_rows_v4_<VPT> / rms_norm_rows_v4_<VPT>: the arguments of layer_norm_rows / rms_norm_rows;
// gamma and beta 4-element aligned too.
#define NORM_ROWS_V4(VPT)                                                                                        \
    extern "C" __global__ void layer_norm_rows_v4_##VPT(const float* x, const void* gamma, int gamma_type,        \
                                                        const void* beta, int beta_type, float eps, void* out,    \
                                                        int out_type, int n) {                                    \
        grid_dependency_wait();                                                                                  \
        layer_norm_v4<VPT>(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n, (long long)blockIdx.x * n); \
    }                                                                                                            \
    extern "C" __global__ void rms_norm_rows_v4_##VPT(const float* x, const void* gamma, int gamma_type, float eps, \
                                                      void* out, int out_type, int n) {                           \
        grid_dependency_wait();                                                                                  \
        rms_norm_v4<VPT>(x, gamma, gamma_type, eps, out, out_type, n);                                           \
    }
NORM_ROWS_V4(1)
NORM_ROWS_V4(2)
NORM_ROWS_V4(4)
NORM_ROWS_V4(8)

extern "C" __global__ void l2_norm_rows(const float* x, float* out, int n) {
    __shared__ float scratch[32];
    const float* row = x + (long long)blockIdx.x * n;
    float q = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) q += row[i] * row[i];
    q = block_sum(q, scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = sqrtf(q);
}

// a better than b: NaN beats numbers (torch.argmax), then larger value, then lower index.
__device__ __forceinline__ bool argmax_better(float a, int ia, float b, int ib) {
    bool an = isnan(a), bn = isnan(b);
    if (an != bn) return an;
    if (!an && a != b) return a > b;
    return ia < ib;
}

extern "C" __global__ void argmax_rows(const void* x, int x_type, long long row_stride, int* out, int n) {
    __shared__ float best_v[32];
    __shared__ int best_i[32];
    const long long base = (long long)blockIdx.x * row_stride;
    float v = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float y = load_float(x, x_type, base + i);
        if (argmax_better(y, i, v, idx)) { v = y; idx = i; }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (argmax_better(ov, oi, v, idx)) { v = ov; idx = oi; }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { best_v[warp] = v; best_i[warp] = idx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++) {
            if (argmax_better(best_v[w], best_i[w], v, idx)) { v = best_v[w]; idx = best_i[w]; }
        }
        out[blockIdx.x] = idx;
    }
}

// HF rotate_half RoPE on packed x [T, H, D] with cos/sin [T, half]; dims >= 2*half pass through.
// One thread per (t, h, i) with i < D - half: it rotates the pair (i, i + half) or copies dim i+half.
extern "C" __global__ void rope_f32(const float* x, const float* cos_t, const float* sin_t, float* out,
                                    int tokens, int heads, int dim, int half) {
    grid_dependency_wait();
    long long total = (long long)tokens * heads * (dim - half);
    int width = dim - half;
    for (long long linear = blockIdx.x * (long long)blockDim.x + threadIdx.x; linear < total;
         linear += (long long)gridDim.x * blockDim.x) {
        int i = (int)(linear % width);
        long long th = linear / width;
        int t = (int)(th / heads);
        const float* src = x + th * dim;
        float* dst = out + th * dim;
        if (i < half) {
            float c = cos_t[(long long)t * half + i], s = sin_t[(long long)t * half + i];
            float lo = src[i], hi = src[i + half];
            dst[i] = lo * c - hi * s;
            dst[i + half] = hi * c + lo * s;
        } else {
            dst[i + half] = src[i + half];
        }
    }
}

// LayerNorm of image-major rows into token-major ones (vision towers' images-as-heads attention input):
// x row r = b * tokens + t of [batch, tokens, n] is normalised into out row t * batch + b of
// [tokens, batch, n], so no transposing copy follows. Otherwise the arguments and arithmetic of
// layer_norm_rows (layer_norm_rows_token_major) and layer_norm_rows_v4_<VPT>
// (layer_norm_rows_v4_<VPT>_token_major): the same values, row for row. The out row: token_major_base
// (norm_rows.cuh).

extern "C" __global__ void layer_norm_rows_token_major(const float* x, const void* gamma, int gamma_type,
                                                       const void* beta, int beta_type, float eps, void* out,
                                                       int out_type, int n, int batch, int tokens) {
    grid_dependency_wait();
    layer_norm_row(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n, token_major_base(batch, tokens, n));
}

#define LAYER_NORM_ROWS_V4_TOKEN_MAJOR(VPT)                                                                      \
    extern "C" __global__ void layer_norm_rows_v4_##VPT##_token_major(                                             \
        const float* x, const void* gamma, int gamma_type, const void* beta, int beta_type, float eps, void* out, \
        int out_type, int n, int batch, int tokens) {                                                              \
        grid_dependency_wait();                                                                                    \
        layer_norm_v4<VPT>(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n,                           \
                           token_major_base(batch, tokens, n));                                                    \
    }
LAYER_NORM_ROWS_V4_TOKEN_MAJOR(1)
LAYER_NORM_ROWS_V4_TOKEN_MAJOR(2)
LAYER_NORM_ROWS_V4_TOKEN_MAJOR(4)
LAYER_NORM_ROWS_V4_TOKEN_MAJOR(8)

// A prefill block's RoPE and KV cache append in one launch: rope_f32 on q [T, Hq, D] in place and on
// k [T, Hkv, D] (k itself left as is), the rotated k and v stored as entries start .. start + T of the
// caches [Hkv, capacity, D] of type T (F32 as is; BF16 / F16 rounded to nearest even by store_kv): the
// values rope_f32 twice then the strided copies of a host-indexed append store. Grid: x over a token's
// items, y over tokens (striding past 65535); one thread per item: a q or k pair (i < half) or
// pass-through dim (i + half), or a v element.
template <typename T>
__device__ __forceinline__ void rope_append_rows(float* q, const float* k, const float* v, const float* cos_t,
                                                 const float* sin_t, T* key_cache, T* value_cache, int tokens,
                                                 int heads, int kv_heads, int capacity, int dim, int half, int start) {
    const int width = dim - half;
    const int q_items = heads * width;
    const int rot_items = q_items + kv_heads * width;
    const int per_token = rot_items + kv_heads * dim;
    for (int t = blockIdx.y; t < tokens; t += gridDim.y) {
        const long long entry = (long long)start + t;
        const float* cos_row = cos_t + (long long)t * half;
        const float* sin_row = sin_t + (long long)t * half;
        float* q_row = q + (long long)t * heads * dim;
        const float* k_row = k + (long long)t * kv_heads * dim;
        for (int item = blockIdx.x * blockDim.x + threadIdx.x; item < per_token; item += gridDim.x * blockDim.x) {
            if (item < rot_items) {
                bool is_q = item < q_items;
                int hl = is_q ? item : item - q_items;
                int h = hl / width, i = hl - h * width;
                const float* src = is_q ? q_row + (long long)h * dim : k_row + (long long)h * dim;
                if (i < half) {
                    float c = cos_row[i], s = sin_row[i];
                    float lo = src[i], hi = src[i + half];
                    float rlo = lo * c - hi * s, rhi = hi * c + lo * s;
                    store_rope_pair(is_q, q_row, key_cache, h, capacity, entry, dim, i, half, rlo, rhi);
                } else if (!is_q) {
                    store_kv(cache_entry(key_cache, h, capacity, entry, dim) + i + half, src[i + half]);
                }
            } else {
                int hd = item - rot_items;
                int h = hd / dim, d = hd - h * dim;
                store_kv(cache_entry(value_cache, h, capacity, entry, dim) + d, v[(long long)t * kv_heads * dim + hd]);
            }
        }
    }
}

#define ROPE_APPEND_ROWS(NAME, T)                                                                                  \
    extern "C" __global__ void NAME(float* q, const float* k, const float* v, const float* cos_t,                 \
                                    const float* sin_t, T* key_cache, T* value_cache, int tokens, int heads,      \
                                    int kv_heads, int capacity, int dim, int half, int start) {                   \
        grid_dependency_enter();                                                                                  \
        rope_append_rows<T>(q, k, v, cos_t, sin_t, key_cache, value_cache, tokens, heads, kv_heads, capacity,     \
                            dim, half, start);                                                                    \
    }
ROPE_APPEND_ROWS(rope_append_kv_rows, float)
ROPE_APPEND_ROWS(rope_append_kv_rows_bf16, __nv_bfloat16)
ROPE_APPEND_ROWS(rope_append_kv_rows_f16, __half)

// rope_append_kv_rows_vec[_bf16|_f16]: the stores of rope_append_kv_rows (the same arithmetic, expression
// for expression, so the same bits) with 16-byte loads and grid-stride work sized to the GPU, for
// dim == 2 * half, half % 4 == 0 (no pass-through dims) and 16-byte aligned q, k, v, tables and caches
// (CudaPointwise checks all of it and runs rope_append_kv_rows otherwise). Work items per token: first
// ceil((heads + kv_heads) / HPT) x (half / 4) rotation items, each 4 consecutive pairs (i .. i + 3 and
// i + half .. i + half + 3) of HPT consecutive rotated heads (q heads, then k heads) with the token's
// cos/sin float4s read once for all HPT heads; then kv_heads * dim / 8 value items of 8 values (one
// 16-byte store into a 16-bit cache). Consecutive threads take consecutive items (a head's pairs are
// contiguous: each 4-pair group is 16 bytes of a 256-byte run at half 64). tokens * items < 2^31 (the
// host checks).
#include "rope_rows.cuh"

template <typename T, int HPT>
__device__ __forceinline__ void rope_append_rows_vec(float* q, const float* k, const float* v, const float* cos_t,
                                                     const float* sin_t, T* key_cache, T* value_cache, int tokens,
                                                     int heads, int kv_heads, int capacity, int dim, int half,
                                                     int start) {
    const int groups = half / 4;
    const int rot_heads = heads + kv_heads;
    const int rot_items = (rot_heads + HPT - 1) / HPT * groups;
    const int per_token = rot_items + kv_heads * dim / 8;
    const int total = tokens * per_token;
    for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const int t = u / per_token;
        const int item = u - t * per_token;
        const long long entry = (long long)start + t;
        if (item < rot_items) {
            const int chunk = item / groups;
            const int i = (item - chunk * groups) * 4;
            const float4 c = *reinterpret_cast<const float4*>(cos_t + (long long)t * half + i);
            const float4 s = *reinterpret_cast<const float4*>(sin_t + (long long)t * half + i);
#pragma unroll
            for (int j = 0; j < HPT; j++) {
                const int r = chunk * HPT + j;
                if (r >= rot_heads) break;
                const bool is_q = r < heads;
                const int h = is_q ? r : r - heads;
                const float* src = is_q ? q + ((long long)t * heads + h) * dim : k + ((long long)t * kv_heads + h) * dim;
                const float4 lo = *reinterpret_cast<const float4*>(src + i);
                const float4 hi = *reinterpret_cast<const float4*>(src + i + half);
                float4 rlo, rhi;
                rope_rotate4(lo, hi, c, s, rlo, rhi);
                if (is_q) {
                    float* dst = q + ((long long)t * heads + h) * dim;
                    *reinterpret_cast<float4*>(dst + i) = rlo;
                    *reinterpret_cast<float4*>(dst + i + half) = rhi;
                } else {
                    T* dst = key_cache + ((long long)h * capacity + entry) * dim;
                    store4_kv(dst + i, rlo);
                    store4_kv(dst + i + half, rhi);
                }
            }
        } else {
            const int e = (item - rot_items) * 8;
            const int h = e / dim, d = e - h * dim;
            const float* src = v + (long long)t * kv_heads * dim + e;
            store8_kv(value_cache + ((long long)h * capacity + entry) * dim + d, *reinterpret_cast<const float4*>(src),
                      *reinterpret_cast<const float4*>(src + 4));
        }
    }
}

// HPT 4: Llama-7B (32 + 32 heads of 128) has 256 rotation items and 512 value items per token.
#define ROPE_APPEND_ROWS_VEC(NAME, T)                                                                              \
    extern "C" __global__ void NAME(float* q, const float* k, const float* v, const float* cos_t,                 \
                                    const float* sin_t, T* key_cache, T* value_cache, int tokens, int heads,      \
                                    int kv_heads, int capacity, int dim, int half, int start) {                   \
        grid_dependency_enter();                                                                                  \
        rope_append_rows_vec<T, 4>(q, k, v, cos_t, sin_t, key_cache, value_cache, tokens, heads, kv_heads,        \
                                   capacity, dim, half, start);                                                   \
    }
ROPE_APPEND_ROWS_VEC(rope_append_kv_rows_vec, float)
ROPE_APPEND_ROWS_VEC(rope_append_kv_rows_vec_bf16, __nv_bfloat16)
ROPE_APPEND_ROWS_VEC(rope_append_kv_rows_vec_f16, __half)
