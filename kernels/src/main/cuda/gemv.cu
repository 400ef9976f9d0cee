// Decode-shaped linear layers with F16/BF16 weights: out[r, j] = sum_k x[r, k] * w[j, k] + bias[j]
// for r < rows <= 8. F32 activations are read as is and weights are widened in registers, so the
// result matches the CPU backend's F32 accumulation; each weight row is streamed once. Every kernel
// starts with grid_dependency_enter() (grid_dependency.cuh): it may run with programmatic dependent launch.
#include "gemv_core.cuh"

template <typename H>
__device__ void gemv_rows(const float* x, const H* w, long long ldw, const void* bias, int bias_type,
                          float* out, int rows, int n, int k, bool vec) {
    grid_dependency_enter();
    int lane = threadIdx.x & 31;
    int j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (j >= n) return;
    const H* wr = w + (long long)j * ldw;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
    int done = 0;
    if (vec) {
        const uint4* w8 = reinterpret_cast<const uint4*>(wr);
        int chunks = k >> 3;
#pragma unroll 4
        for (int c = lane; c < chunks; c += 32) {
            uint4 packed = w8[c];
            const H* h = reinterpret_cast<const H*>(&packed);
            float wf[8];
#pragma unroll
            for (int e = 0; e < 8; e++) wf[e] = widen<H>(h[e]);
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    const float4* xr = reinterpret_cast<const float4*>(x + (long long)r * k + c * 8);
                    float4 a = xr[0], b = xr[1];
                    acc[r] += a.x * wf[0] + a.y * wf[1] + a.z * wf[2] + a.w * wf[3]
                            + b.x * wf[4] + b.y * wf[5] + b.z * wf[6] + b.w * wf[7];
                }
            }
        }
        done = chunks << 3;
    }
    for (int i = done + lane; i < k; i += 32) {
        float wf = widen<H>(wr[i]);
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) acc[r] += x[(long long)r * k + i] * wf;
        }
    }
    float b = bias == nullptr ? 0.f : load_float(bias, bias_type, j);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            float s = warp_sum(acc[r]);
            if (lane == 0) out[(long long)r * n + j] = s + b;
        }
    }
}

// One warp per output feature j. vec: k % 8 == 0 and w rows and x 16-byte aligned.
extern "C" __global__ void gemv_half_weights(const float* x, const void* w, int w_type, long long ldw,
                                             const void* bias, int bias_type, float* out,
                                             int rows, int n, int k, int vec) {
    if (w_type == DT_BF16) {
        gemv_rows<__nv_bfloat16>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias, bias_type, out, rows, n, k, vec != 0);
    } else {
        gemv_rows<__half>(x, static_cast<const __half*>(w), ldw, bias, bias_type, out, rows, n, k, vec != 0);
    }
}

// The decode GEMV (vec case only: k % 8 == 0, w rows and x 16-byte aligned), reusing activations
// across weight rows. A block of 256 threads (8 warps) serves 8 / split groups of R = 4
// consecutive output features; each group's k is split over `split` warps (1, 2, 4 or 8). Per step
// a lane issues R * U = GEMV_MULTI_LOADS 16-byte weight loads (U chunks of each of the R rows,
// streamed with evict-first) before any arithmetic, then reads each x float4 pair once (through L1)
// and multiplies it into all R rows: the x traffic per weight byte drops R-fold and every warp
// keeps 4 KB of weights in flight. Blocks walk the feature groups grid-stride.
// MAXR: the most rows of x the instantiation serves (1 for decode, GEMV_MAX_ROWS otherwise).
// Each output is sum over the k-slices p (in order) of the warp_sum of one lane's running F32 sum
// of 8-product partial sums: same F32 products as gemv_half_weights, fixed order run to run.
template <typename H, int MAXR>
__device__ void gemv_multi_rows(const float* __restrict__ x, const H* __restrict__ w, long long ldw,
                                const void* bias, int bias_type, float* __restrict__ out,
                                int rows, int n, int k, int split) {
    grid_dependency_enter();
    constexpr int R = 4;
    __shared__ float partial[GEMV_MULTI_THREADS / 32][R][MAXR];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int slots = (GEMV_MULTI_THREADS / 32) / split;   // feature groups per block
    int group = warp / split;
    int part = warp - group * split;
    int chunks = k >> 3;
    const float4* xv = reinterpret_cast<const float4*>(x);
    int groups = (n + R * slots - 1) / (R * slots);
    for (int g = blockIdx.x; g < groups; g += gridDim.x) {
        int j0 = (g * slots + group) * R;
        float acc[R][MAXR];
#pragma unroll
        for (int q = 0; q < R; q++) {
#pragma unroll
            for (int r = 0; r < MAXR; r++) acc[q][r] = 0.f;
        }
        if (j0 < n) {
            const uint4* wr[R];
#pragma unroll
            for (int q = 0; q < R; q++) {
                int j = min(j0 + q, n - 1);   // rows past n re-read row n-1; their sums are not stored
                wr[q] = reinterpret_cast<const uint4*>(w + (long long)j * ldw);
            }
            gemv_core_accumulate<H, R, false, MAXR>(xv, wr, rows, chunks, part, split, lane, acc);
        }
        gemv_core_finish<R, MAXR>(acc, partial, rows, part, split, j0, n, bias, bias_type,
                                  [&](long long at, float sum, float b) { out[at] = sum + b; });
    }
}

#define GEMV_MULTI4_KERNEL(NAME, MAXR)                                                                         \
    extern "C" __global__ void __launch_bounds__(GEMV_MULTI_THREADS, 2)                                        \
    NAME(const float* x, const void* w, int w_type, long long ldw, const void* bias, int bias_type, float* out, \
         int rows, int n, int k, int split) {                                                                  \
        if (w_type == DT_BF16) {                                                                               \
            gemv_multi_rows<__nv_bfloat16, MAXR>(x, static_cast<const __nv_bfloat16*>(w), ldw, bias, bias_type,  \
                                                 out, rows, n, k, split);                                      \
        } else {                                                                                               \
            gemv_multi_rows<__half, MAXR>(x, static_cast<const __half*>(w), ldw, bias, bias_type, out, rows, n, \
                                          k, split);                                                           \
        }                                                                                                      \
    }

// gemv_half_multi4_1 serves one row of x (decode) with a quarter of the registers for sums.
GEMV_MULTI4_KERNEL(gemv_half_multi4_1, 1)
GEMV_MULTI4_KERNEL(gemv_half_multi4, GEMV_MAX_ROWS)
