// One query's softmax attention row over every key, per head, in one launch (CudaBackend#queryAttentionRow,
// -Dglimpse.cuda.vtcFused=true): the [CLS] row VTC-CLS taps at its layers, or SigLIP's probe row. It does
// what the default path does with two launches, a cuBLAS batched F32 GEMM (scale * q k^T) and softmax_rows:
//   out[h, j] = expf(s_hj - m_h) / sum_j' expf(s_hj' - m_h),   s_hj = scale * sum_d q[h, d] k[j, h, d],
//   m_h = max_j s_hj
// with the softmax of softmax_rows (fmaxf block max, expf, block sum, one division per element). The dot
// products are summed in another order than cuBLAS's (each lane's dims by fmaf, then the warp's butterfly),
// so rows agree with the default path to F32 rounding, not bit for bit.
//
// One block per head, QROW_THREADS threads; each warp takes QROW_UNROLL keys at a time (its lanes read the
// keys' dims lane, lane + 32, ... coalesced, all QROW_UNROLL x QROW_CHUNKS loads issued before any sum), the
// scaled dot products go to shared memory (n floats, dynamic), and the block's softmax reads them there.
// Head dims up to 32 * QROW_CHUNKS; q, k and out have unit stride along the head dim / keys.
#include "common.cuh"
#include "grid_dependency.cuh"

#define QROW_CHUNKS 4
#define QROW_UNROLL 4

extern "C" __global__ void query_attention_row_f32(const float* q, long long q_head_stride, const float* k,
                                                   long long k_row_stride, long long k_head_stride, int n, int d,
                                                   float scale, float* out, long long out_head_stride) {
    grid_dependency_wait();
    extern __shared__ float logits[];
    __shared__ float scratch[32];
    const int h = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const float* qh = q + (long long)h * q_head_stride;
    const float* kh = k + (long long)h * k_head_stride;
    float qv[QROW_CHUNKS];
#pragma unroll
    for (int c = 0; c < QROW_CHUNKS; c++) {
        const int dim = lane + 32 * c;
        qv[c] = dim < d ? qh[dim] : 0.f;
    }
    for (int j0 = warp * QROW_UNROLL; j0 < n; j0 += warps * QROW_UNROLL) {
        float kv[QROW_UNROLL][QROW_CHUNKS];
#pragma unroll
        for (int u = 0; u < QROW_UNROLL; u++) {
            const int j = j0 + u;
            const float* kj = kh + (long long)j * k_row_stride;
#pragma unroll
            for (int c = 0; c < QROW_CHUNKS; c++) {
                const int dim = lane + 32 * c;
                kv[u][c] = j < n && dim < d ? kj[dim] : 0.f;
            }
        }
        float dot[QROW_UNROLL];
#pragma unroll
        for (int u = 0; u < QROW_UNROLL; u++) {
            float s = 0.f;
#pragma unroll
            for (int c = 0; c < QROW_CHUNKS; c++) s = fmaf(qv[c], kv[u][c], s);
            dot[u] = warp_sum(s);
        }
        if (lane == 0) {
#pragma unroll
            for (int u = 0; u < QROW_UNROLL; u++) {
                if (j0 + u < n) logits[j0 + u] = scale * dot[u];
            }
        }
    }
    __syncthreads();
    float* dst = out + (long long)h * out_head_stride;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, logits[i]);
    m = block_max(m, scratch);
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += expf(logits[i] - m);
    s = block_sum(s, scratch);
    for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = expf(logits[i] - m) / s;
}
