// Staged variants of rows.cu's vectorised LayerNorm / RMSNorm row kernels (layer_norm_rows_v4_<VPT>[_token_major],
// rms_norm_rows_v4_<VPT>): layer_norm_rows_staged_<VPT>[_token_major], rms_norm_rows_staged_<VPT>, chosen with
// -Dglimpse.cuda.normRows (NormRowsVariant): the same arguments, launch shape (threads, VPT float4 per thread) and
// values, bit for bit, with less on the critical path of a latency-bound block (one row of a few KB: a Llama-7B
// prefill of 74 rows is one block of 256 threads on each of 74 SMs):
// - gamma and beta are copied global -> shared by cp.async (sm_80+) at the start, not loaded after the
//   reduction: the copy overlaps the row's load and reduction (from DRAM for a layer's weights), and the
//   block keeps about _v4's registers (no registers hold them meanwhile; loading them into registers instead
//   measured no faster and cost resident blocks). Dynamic shared memory: gamma's n values in its type, then, from
//   the next 16-byte boundary, beta's (when given). Each thread copies the 4-element chunks it later reads (16
//   bytes of F32, 8 of F16/BF16: gamma and beta 4-element aligned, as for _v4) and waits for its own copies only
//   (cp.async.wait_all), so no barrier guards them;
// - each reduction has its own scratch, so it needs one __syncthreads, not block_sum's two;
// - the warps' sums are added over groups of `warps` lanes (log2(warps) shuffle steps, not 5).
// The additions are block_sum's, in its order: each thread's partial as in _v4 (0.f plus its float4 sums in
// order), warp_sum's butterfly, then the warps' sums by a butterfly over lanes. In that last butterfly
// block_sum's first two steps (offsets 16, 8; with 4 warps three: 16, 8, 4) only add the +0.f of lanes past
// the last warp; x + +0.f is x for every x but -0.f, and no partial is -0.f (each starts at +0.f, and a sum of
// floats not both -0.f is never -0.f in round-to-nearest), so dropping those steps changes no bit; the steps
// left pair the same lanes in the same order. blockDim.x is 128 or 256 (a power-of-two count of warps, as
// CudaPointwise launches them).
// Their own module, so rows.cu's kernels stay as they were to the byte (a kernel with dynamic shared memory
// moves every static shared section of its module to 16-byte alignment). Every kernel starts with
// grid_dependency_wait() (-Dglimpse.cuda.pdlPrefill=true, grid_dependency.cuh).
#include "common.cuh"
#include "grid_dependency.cuh"
#include "norm_rows.cuh"

// block_sum's value with one barrier and log2(warps) cross-warp steps (above); scratch is the caller's own.
__device__ __forceinline__ float block_sum_once(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = scratch[lane & (warps - 1)];
    for (int o = warps >> 1; o > 0; o >>= 1) r += __shfl_xor_sync(0xffffffffu, r, o);
    return r;
}

// cp.async of one 16- or 8-byte chunk global -> shared (the addresses aligned to its size).
__device__ __forceinline__ void cp_async_chunk(void* dst, const void* src, int bytes) {
    const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
    const size_t g = __cvta_generic_to_global(src);
    if (bytes == 16) {
        asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" ::"r"(s), "l"(g) : "memory");
    } else {
        asm volatile("cp.async.ca.shared.global [%0], [%1], 8;" ::"r"(s), "l"(g) : "memory");
    }
}

// Starts the copies of this thread's VPT 4-element chunks of vector p (type dt) into staged (the same layout).
template <int VPT>
__device__ __forceinline__ void stage_vector_v4(const void* p, int dt, int nv, unsigned char* staged) {
    const int bytes = dt == DT_F32 ? 16 : 8;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int c = threadIdx.x + j * blockDim.x;
        const long long at = (long long)c * bytes;
        if (c < nv) cp_async_chunk(staged + at, static_cast<const unsigned char*>(p) + at, bytes);
    }
}

__device__ __forceinline__ void cp_async_wait_own() { asm volatile("cp.async.wait_all;" ::: "memory"); }

// Bytes of gamma's staged copy, rounded up to 16 (beta's copy starts there).
__device__ __forceinline__ int staged_gamma_bytes(int n, int gamma_type) {
    return ((gamma_type == DT_F32 ? n * 4 : n * 2) + 15) & ~15;
}

template <int VPT>
__device__ __forceinline__ void layer_norm_staged(const float* x, const void* gamma, int gamma_type,
                                                  const void* beta, int beta_type, float eps, void* out,
                                                  int out_type, int n, long long out_base) {
    __shared__ float sums[32], squares[32];
    extern __shared__ __align__(16) unsigned char staged[];
    const long long base = (long long)blockIdx.x * n;
    const int nv = n >> 2;
    unsigned char* staged_beta = staged + staged_gamma_bytes(n, gamma_type);
    stage_vector_v4<VPT>(gamma, gamma_type, nv, staged);
    if (beta != nullptr) stage_vector_v4<VPT>(beta, beta_type, nv, staged_beta);
    float4 v[VPT];
    load_row_v4<VPT>(x, base, nv, v);
    float s = row_sum_v4<VPT>(v);
    const float mean = block_sum_once(s, sums) / n;
    float q = centered_squares_v4<VPT>(v, mean, nv);
    const float var = block_sum_once(q, squares) / n;
    const float rstd = (float)(1.0 / sqrt((double)(var + eps)));
    cp_async_wait_own();
    store_layer_norm_v4<VPT>(v, mean, rstd, staged, gamma_type, beta != nullptr, staged_beta, beta_type, out,
                             out_type, out_base, nv);
}

template <int VPT>
__device__ __forceinline__ void rms_norm_staged(const float* x, const void* gamma, int gamma_type, float eps,
                                                void* out, int out_type, int n) {
    __shared__ float squares[32];
    extern __shared__ __align__(16) unsigned char staged[];
    const long long base = (long long)blockIdx.x * n;
    const int nv = n >> 2;
    stage_vector_v4<VPT>(gamma, gamma_type, nv, staged);
    float4 v[VPT];
    load_row_v4<VPT>(x, base, nv, v);
    float q = row_squares_v4<VPT>(v);
    const float variance = block_sum_once(q, squares) / n;
    const float rstd = (float)(1.0 / sqrt((double)(variance + eps)));
    cp_async_wait_own();
    store_rms_norm_v4<VPT>(v, rstd, staged, gamma_type, out, out_type, base, nv);
}

#define NORM_ROWS_STAGED(VPT)                                                                                    \
    extern "C" __global__ void layer_norm_rows_staged_##VPT(const float* x, const void* gamma, int gamma_type,    \
                                                            const void* beta, int beta_type, float eps,           \
                                                            void* out, int out_type, int n) {                     \
        grid_dependency_wait();                                                                                  \
        layer_norm_staged<VPT>(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n,                       \
                               (long long)blockIdx.x * n);                                                       \
    }                                                                                                            \
    extern "C" __global__ void rms_norm_rows_staged_##VPT(const float* x, const void* gamma, int gamma_type,      \
                                                          float eps, void* out, int out_type, int n) {            \
        grid_dependency_wait();                                                                                  \
        rms_norm_staged<VPT>(x, gamma, gamma_type, eps, out, out_type, n);                                       \
    }                                                                                                            \
    extern "C" __global__ void layer_norm_rows_staged_##VPT##_token_major(                                         \
        const float* x, const void* gamma, int gamma_type, const void* beta, int beta_type, float eps, void* out, \
        int out_type, int n, int batch, int tokens) {                                                              \
        grid_dependency_wait();                                                                                    \
        layer_norm_staged<VPT>(x, gamma, gamma_type, beta, beta_type, eps, out, out_type, n,                       \
                               token_major_base(batch, tokens, n));                                                \
    }
NORM_ROWS_STAGED(1)
NORM_ROWS_STAGED(2)
NORM_ROWS_STAGED(4)
NORM_ROWS_STAGED(8)
