// One query's softmax attention row over every key, per head, in one launch (CudaBackend#queryAttentionRow,
// -Dglimpse.cuda.vtcFused=true): the [CLS] row VTC-CLS taps at its layers, or SigLIP's probe row. It does
// what the default path does with two launches, a cuBLAS batched F32 GEMM (scale * q k^T) and softmax_rows:
//   out[h, j] = expf(s_hj - m_h) / sum_j' expf(s_hj' - m_h),   s_hj = scale * sum_d q[h, d] k[j, h, d],
//   m_h = max_j s_hj
// with the softmax of softmax_rows (fmaxf block max, expf, block sum, one division per element). Each dot
// product is one fmaf chain over d = 0, 1, ... in order, another order than cuBLAS's, so rows agree with
// the default path to F32 rounding, not bit for bit.
//
// One block per head. The head's query goes to shared memory; each thread takes whole keys (thread t keys
// t, t + blockDim, ...), reading a key's D floats four at a time when vec4 says rows and heads are 16-byte
// aligned (all of a key's loads independent, so they are in flight together; the query is a broadcast
// read), and leaves the scaled dot product in shared memory, where the block's softmax reads the n logits.
// Dynamic shared memory: round_up(d, 4) + n floats.
#include "common.cuh"
#include "grid_dependency.cuh"

extern "C" __global__ void query_attention_row_f32(const float* q, long long q_head_stride, const float* k,
                                                   long long k_row_stride, long long k_head_stride, int n, int d,
                                                   float scale, float* out, long long out_head_stride, int vec4) {
    grid_dependency_wait();
    extern __shared__ float smem[];
    __shared__ float scratch[32];
    float* qs = smem;
    float* logits = smem + ((d + 3) & ~3);
    const int h = blockIdx.x;
    const float* qh = q + (long long)h * q_head_stride;
    const float* kh = k + (long long)h * k_head_stride;
    for (int i = threadIdx.x; i < d; i += blockDim.x) qs[i] = qh[i];
    __syncthreads();
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float* kj = kh + (long long)j * k_row_stride;
        float s = 0.f;
        if (vec4) {
#pragma unroll 8
            for (int c = 0; c < d; c += 4) {
                const float4 kv = *reinterpret_cast<const float4*>(kj + c);
                s = fmaf(qs[c], kv.x, s);
                s = fmaf(qs[c + 1], kv.y, s);
                s = fmaf(qs[c + 2], kv.z, s);
                s = fmaf(qs[c + 3], kv.w, s);
            }
        } else {
#pragma unroll 8
            for (int c = 0; c < d; c++) s = fmaf(qs[c], kj[c], s);
        }
        logits[j] = scale * s;
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
