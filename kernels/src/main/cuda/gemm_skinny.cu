// Skinny linear layers with 16-bit weights (prefill of a few visual tokens): out[r, j] = sum_k x[r, k] w[j, k]
// (+ bias[j]) for 9..128 rows of x, on tensor cores. x and w are of one 16-bit type (bf16 or f16; the host
// rounds F32 x to it first, as for cuBLASLt), products in that type, F32 sums, F32 out: the semantics of
// CudaGemm's cuBLASLt path. At these rows the product is bound by streaming the weights, so the kernel
// is built like the decode GEMV: every weight byte is loaded once, 16 bytes per lane, many loads in flight.
//
// mma.sync m16n8k16 with the WEIGHTS as A (16 output features per warp) and x rows as B (8 rows per n-tile,
// RT = ceil(rows / 8) n-tiles, a compile-time constant: gemm_skinny_<t>_r<8 RT>). The order of a k sum is
// free, so k is permuted within each step of 32 so that a lane's operands are 16 contiguous bytes: lane
// (g = lane / 4, c = lane % 4) loads W[f0 + g][k0 + 8c .. 8c + 8) and W[f0 + g + 8][same] and x[row g of the
// n-tile][same], and uses elements {0,1},{2,3} as logical k {2c, 2c+1}, {8+2c, 9+2c} of the first mma and
// {4,5},{6,7} as the same logical k of the second. A and B fragments map logical k to memory the same way
// (PTX ISA m16n8k16: A a0 = (g, 2c..2c+1), a1 = (g+8, 2c..), a2 = (g, 8+2c..), a3 = (g+8, 8+2c..);
// B b0 = (k 2c..2c+1, n g), b1 = (k 8+2c.., n g); C c0,c1 = (g, 2c..2c+1), c2,c3 = (g+8, 2c..2c+1)), so each
// mma sums 16 true products; the two mmas of a step cover the step's 32 k exactly once.
//
// Block: SKINNY_WARPS warps over SKINNY_WARPS * 16 consecutive features, grid (feature blocks, splits):
// split y sums the k steps [y * steps_per_split, min(steps, (y + 1) * steps_per_split)), in chunks of
// SKINNY_CHUNK_STEPS steps. The block copies each chunk of x (all RT * 8 rows, zeros past `rows` and past
// k) into shared memory with cp.async, double-buffered (one barrier per chunk), and every warp reads its B
// fragments there; shared layout [buffer][step][row][32 k], 64-byte rows, so a quarter-warp's 16-byte
// reads cover 128 contiguous bytes (no bank conflicts). Each lane keeps one chunk of weight loads
// (2 * SKINNY_CHUNK_STEPS x 16 bytes) in flight: a step's registers are refilled with the next chunk's
// weights as soon as its mmas are issued. Weights past n or past k load as zeros (never the bytes behind
// a row, which need not be finite).
//
// splits == 1: the block writes out (+ bias). Otherwise it writes its F32 partial sums to
// ws[split][rows][n] and gemm_skinny_reduce adds the splits in split order (+ bias): no atomics, the
// same bits every run. Host guarantees: k % 8 == 0, ldw and ldx multiples of 8, w and x 16-byte aligned,
// 1 <= rows <= 8 RT, every split non-empty.
#include "common.cuh"

#define SKINNY_WARPS 8
#define SKINNY_THREADS (SKINNY_WARPS * 32)
#define SKINNY_CHUNK_STEPS 4

// d += a b for one m16n8k16 tile of 16-bit operands, F32 accumulators.
template <typename H>
__device__ __forceinline__ void skinny_mma(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                           uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void skinny_mma<__nv_bfloat16>(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                                          uint32_t a3, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void skinny_mma<__half>(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                                   uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// 16 bytes global -> shared, asynchronously; bytes = 0 reads nothing and writes zeros.
__device__ __forceinline__ void skinny_cp_async16(void* dst, const void* src, int bytes) {
    uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(__cvta_generic_to_global(src)),
                 "r"(bytes)
                 : "memory");
}

__device__ __forceinline__ void skinny_cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

__device__ __forceinline__ void skinny_cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// Copies the x columns of steps [s0, s0 + SKINNY_CHUNK_STEPS) into one shared buffer [step][row][4 x 16 bytes]:
// rows past `rows`, steps past s_end and columns past k become zeros.
template <typename H, int RT>
__device__ __forceinline__ void skinny_stage_x(uint4* buf, const H* x, long long ldx, int rows, int k, int s0,
                                               int s_end) {
    constexpr int RP = RT * 8;
    constexpr int PIECES = SKINNY_CHUNK_STEPS * RP * 4;
    for (int i = threadIdx.x; i < PIECES; i += SKINNY_THREADS) {
        int u = i / (RP * 4);
        int rem = i - u * (RP * 4);
        int r = rem >> 2;
        int s = s0 + u;
        int col = s * 32 + (rem & 3) * 8;
        bool valid = r < rows && s < s_end && col < k;
        const H* src = valid ? x + (long long)r * ldx + col : x;
        skinny_cp_async16(buf + i, src, valid ? 16 : 0);
    }
}

template <typename H, int RT>
__device__ __forceinline__ void skinny_gemm(const H* __restrict__ x, long long ldx, const H* __restrict__ w,
                                            long long ldw, const void* bias, int bias_type, float* __restrict__ out,
                                            float* __restrict__ ws, int rows, int n, int k, int steps_per_split) {
    constexpr int RP = RT * 8;
    constexpr int BUF = SKINNY_CHUNK_STEPS * RP * 4;   // uint4 per buffer
    extern __shared__ uint4 skinny_smem[];
    const int lane = threadIdx.x & 31;
    const int g = lane >> 2;
    const int c = lane & 3;
    const int fa = blockIdx.x * (SKINNY_WARPS * 16) + (threadIdx.x >> 5) * 16 + g;
    const int fb = fa + 8;
    const int steps = (k + 31) >> 5;
    const int s_begin = blockIdx.y * steps_per_split;
    const int s_end = min(steps, s_begin + steps_per_split);
    const int chunks = (s_end - s_begin + SKINNY_CHUNK_STEPS - 1) / SKINNY_CHUNK_STEPS;
    const bool va = fa < n;
    const bool vb = fb < n;
    // Lane's 16-byte column within a step: 8c; a step is 4 uint4 of a row.
    const uint4* pa = reinterpret_cast<const uint4*>(w + (long long)(va ? fa : 0) * ldw + 8 * c);
    const uint4* pb = reinterpret_cast<const uint4*>(w + (long long)(vb ? fb : 0) * ldw + 8 * c);
    const uint4 zero = make_uint4(0u, 0u, 0u, 0u);

    uint4 wa[SKINNY_CHUNK_STEPS], wb[SKINNY_CHUNK_STEPS];
#pragma unroll
    for (int u = 0; u < SKINNY_CHUNK_STEPS; u++) {
        int s = s_begin + u;
        bool ok = s < s_end && s * 32 + 8 * c < k;
        wa[u] = ok && va ? __ldcs(pa + 4 * s) : zero;
        wb[u] = ok && vb ? __ldcs(pb + 4 * s) : zero;
    }
    skinny_stage_x<H, RT>(skinny_smem, x, ldx, rows, k, s_begin, s_end);
    skinny_cp_async_commit();

    float acc[RT][4];
#pragma unroll
    for (int t = 0; t < RT; t++) {
#pragma unroll
        for (int e = 0; e < 4; e++) acc[t][e] = 0.f;
    }

#pragma unroll 1
    for (int ch = 0; ch < chunks; ch++) {
        skinny_cp_async_wait_all();
        __syncthreads();   // chunk ch visible to all; every warp is done with the buffer chunk ch + 1 reuses
        const int next = s_begin + (ch + 1) * SKINNY_CHUNK_STEPS;
        if (ch + 1 < chunks) {
            skinny_stage_x<H, RT>(skinny_smem + ((ch + 1) & 1) * BUF, x, ldx, rows, k, next, s_end);
        }
        skinny_cp_async_commit();
        const uint4* xs = skinny_smem + (ch & 1) * BUF;
#pragma unroll
        for (int u = 0; u < SKINNY_CHUNK_STEPS; u++) {
            const uint4 a = wa[u];
            const uint4 b = wb[u];
            const uint4* xu = xs + (u * RP + g) * 4 + c;
#pragma unroll
            for (int t = 0; t < RT; t++) {
                const uint4 xv = xu[t * 32];   // row 8t + g: 8 rows of 4 uint4 per n-tile
                skinny_mma<H>(acc[t], a.x, b.x, a.y, b.y, xv.x, xv.y);
                skinny_mma<H>(acc[t], a.z, b.z, a.w, b.w, xv.z, xv.w);
            }
            const int s = next + u;
            const bool ok = s < s_end && s * 32 + 8 * c < k;
            wa[u] = ok && va ? __ldcs(pa + 4 * s) : zero;
            wb[u] = ok && vb ? __ldcs(pb + 4 * s) : zero;
        }
    }

    const bool direct = gridDim.y == 1;
    float* dst = direct ? out : ws + (long long)blockIdx.y * rows * n;
    const float bias_a = direct && bias != nullptr && va ? load_float(bias, bias_type, fa) : 0.f;
    const float bias_b = direct && bias != nullptr && vb ? load_float(bias, bias_type, fb) : 0.f;
#pragma unroll
    for (int t = 0; t < RT; t++) {
        const int r0 = t * 8 + 2 * c;
        const int r1 = r0 + 1;
        if (va && r0 < rows) dst[(long long)r0 * n + fa] = acc[t][0] + bias_a;
        if (va && r1 < rows) dst[(long long)r1 * n + fa] = acc[t][1] + bias_a;
        if (vb && r0 < rows) dst[(long long)r0 * n + fb] = acc[t][2] + bias_b;
        if (vb && r1 < rows) dst[(long long)r1 * n + fb] = acc[t][3] + bias_b;
    }
}

// 2 resident blocks per multiprocessor: at most 128 registers per thread.
#define SKINNY_KERNEL(T, H, RT)                                                                                  \
    extern "C" __global__ void __launch_bounds__(SKINNY_THREADS, 2)                                            \
    gemm_skinny_##T##_r##RT(const void* x, long long ldx, const void* w, long long ldw, const void* bias,       \
                            int bias_type, float* out, float* ws, int rows, int n, int k, int steps_per_split) { \
        skinny_gemm<H, (RT) / 8>(static_cast<const H*>(x), ldx, static_cast<const H*>(w), ldw, bias, bias_type, \
                                 out, ws, rows, n, k, steps_per_split);                                         \
    }

#define SKINNY_KERNELS(RT)                     \
    SKINNY_KERNEL(bf16, __nv_bfloat16, RT)     \
    SKINNY_KERNEL(f16, __half, RT)

SKINNY_KERNELS(16)
SKINNY_KERNELS(24)
SKINNY_KERNELS(32)
SKINNY_KERNELS(40)
SKINNY_KERNELS(48)
SKINNY_KERNELS(56)
SKINNY_KERNELS(64)
SKINNY_KERNELS(72)
SKINNY_KERNELS(80)
SKINNY_KERNELS(88)
SKINNY_KERNELS(96)
SKINNY_KERNELS(104)
SKINNY_KERNELS(112)
SKINNY_KERNELS(120)
SKINNY_KERNELS(128)

// out[r, j] = sum over p = 0 .. splits - 1 (in that order) of ws[p, r, j], + bias[j]: the split-k partials of
// gemm_skinny_* summed in a fixed order. Grid-stride over rows * n.
extern "C" __global__ void gemm_skinny_reduce(const float* __restrict__ ws, int splits, const void* bias, int bias_type,
                                              float* __restrict__ out, int rows, int n) {
    const long long total = (long long)rows * n;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float s = ws[i];
        for (int p = 1; p < splits; p++) s += ws[p * total + i];
        if (bias != nullptr) s += load_float(bias, bias_type, i % n);
        out[i] = s;
    }
}
