// Scaled dot-product attention with grouped kv heads, flash-style: one pass over key tiles with an
// online softmax, F32 throughout. q [T, Hq, D], k/v [S, Hkv, D] with the last dim packed and the
// other two dims at the given element strides; out packed [T, Hq, D].
//
// Block = ATT_WARPS warps over ATT_QPW * ATT_WARPS consecutive queries of one query head; each
// warp owns ATT_QPW queries; lane j scores key j of the current 32-key tile, lanes own output dims
// lane + 32 i for the P V product. query_start < 0 means bidirectional; else query t sees keys
// [0, query_start + t].
#include "common.cuh"

#define ATT_MAX_D 256
#define ATT_TILE 32
#define ATT_WARPS 8
#define ATT_QPW 2
#define ATT_QUERIES (ATT_WARPS * ATT_QPW)

__device__ __forceinline__ int visible_keys(int t, int s, int query_start) {
    return query_start < 0 ? s : min(s, query_start + t + 1);
}

// Dynamic shared memory: K tile [32][D + 1], V tile [32][D], queries [16][D].
__device__ __forceinline__ void
attention_tiles(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                const float* v, long long vs0, long long vs1, float* out, float* lse,
                int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {
    extern __shared__ float smem[];
    float* ks = smem;
    float* vsh = ks + ATT_TILE * (dim + 1);
    float* qsh = vsh + ATT_TILE * dim;
    const int head = blockIdx.y;
    const int kv_head = head / (q_heads / kv_heads);
    const int first = blockIdx.x * ATT_QUERIES;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (int idx = threadIdx.x; idx < ATT_QUERIES * dim; idx += blockDim.x) {
        int qi = idx / dim, d = idx % dim, t = first + qi;
        qsh[idx] = t < tokens ? q[t * qs0 + head * qs1 + d] : 0.f;
    }
    int last_t = min(tokens, first + ATT_QUERIES) - 1;
    int block_keys = visible_keys(last_t, keys, query_start);

    float m[ATT_QPW], l[ATT_QPW], acc[ATT_QPW][ATT_MAX_D / 32];
#pragma unroll
    for (int qi = 0; qi < ATT_QPW; qi++) {
        m[qi] = -INFINITY;
        l[qi] = 0.f;
#pragma unroll
        for (int i = 0; i < ATT_MAX_D / 32; i++) acc[qi][i] = 0.f;
    }

    for (int j0 = 0; j0 < block_keys; j0 += ATT_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATT_TILE * dim; idx += blockDim.x) {
            int j = idx / dim, d = idx % dim, key = j0 + j;
            bool in = key < keys;
            ks[j * (dim + 1) + d] = in ? k[key * ks0 + kv_head * ks1 + d] : 0.f;
            vsh[j * dim + d] = in ? v[key * vs0 + kv_head * vs1 + d] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int qi = 0; qi < ATT_QPW; qi++) {
            int slot = warp * ATT_QPW + qi, t = first + slot;
            if (t >= tokens) continue;
            int vis = visible_keys(t, keys, query_start);
            if (j0 >= vis) continue;
            const float* qrow = qsh + slot * dim;
            const float* krow = ks + lane * (dim + 1);
            float dot = 0.f;
            for (int d = 0; d < dim; d++) dot += qrow[d] * krow[d];
            float score = j0 + lane < vis ? dot * scale : -INFINITY;
            float m_new = fmaxf(m[qi], warp_max(score));
            float corr = expf(m[qi] - m_new);
            float p = expf(score - m_new);
            l[qi] = l[qi] * corr + warp_sum(p);
            m[qi] = m_new;
#pragma unroll
            for (int i = 0; i < ATT_MAX_D / 32; i++) acc[qi][i] *= corr;
            for (int j = 0; j < ATT_TILE; j++) {
                float pj = __shfl_sync(0xffffffffu, p, j);
                const float* vrow = vsh + j * dim;
#pragma unroll
                for (int i = 0; i < ATT_MAX_D / 32; i++) {
                    int d = lane + 32 * i;
                    if (d < dim) acc[qi][i] += pj * vrow[d];
                }
            }
        }
    }
#pragma unroll
    for (int qi = 0; qi < ATT_QPW; qi++) {
        int t = first + warp * ATT_QPW + qi;
        if (t >= tokens) continue;
        float inv = l[qi] > 0.f ? 1.f / l[qi] : 0.f;
        float* orow = out + ((long long)t * q_heads + head) * dim;
#pragma unroll
        for (int i = 0; i < ATT_MAX_D / 32; i++) {
            int d = lane + 32 * i;
            if (d < dim) orow[d] = acc[qi][i] * inv;
        }
        if (lse != nullptr && lane == 0) lse[(long long)head * tokens + t] = m[qi] + logf(l[qi]);
    }
}

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_forward(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                  const float* v, long long vs0, long long vs1, float* out, float* lse,
                  int tokens, int keys, int q_heads, int kv_heads, int dim, float scale, int query_start) {
    attention_tiles(q, qs0, qs1, k, ks0, ks1, v, vs0, vs1, out, lse, tokens, keys, q_heads, kv_heads, dim, scale,
                    query_start);
}

// One decode query per head over the first *key_count keys (all visible): the key count is read
// from device memory, so a captured CUDA graph replays this launch unchanged as the cache grows.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_decode_step(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                      const float* v, long long vs0, long long vs1, float* out, const int* key_count,
                      int q_heads, int kv_heads, int dim, float scale) {
    attention_tiles(q, qs0, qs1, k, ks0, ks1, v, vs0, vs1, out, nullptr, 1, *key_count, q_heads, kv_heads, dim,
                    scale, -1);
}

// Softmax rows of chosen queries: row_probs [Hq, R, S], zero for masked keys. Grid (R, Hq).
extern "C" __global__ void attention_capture_rows(const float* q, long long qs0, long long qs1, const float* k,
                                                  long long ks0, long long ks1, const int* rows, int row_count,
                                                  float* row_probs, int keys, int q_heads, int kv_heads, int dim,
                                                  float scale, int query_start) {
    extern __shared__ float qrow[];
    __shared__ float scratch[32];
    const int r = blockIdx.x, head = blockIdx.y, t = rows[r];
    const int kv_head = head / (q_heads / kv_heads);
    for (int d = threadIdx.x; d < dim; d += blockDim.x) qrow[d] = q[t * qs0 + head * qs1 + d];
    __syncthreads();
    int vis = visible_keys(t, keys, query_start);
    float* dst = row_probs + ((long long)head * row_count + r) * keys;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        float s = -INFINITY;
        if (j < vis) {
            const float* kr = k + j * ks0 + kv_head * ks1;
            float dot = 0.f;
            for (int d = 0; d < dim; d++) dot += qrow[d] * kr[d];
            s = dot * scale;
        }
        dst[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, scratch);
    float sum = 0.f;
    for (int j = threadIdx.x; j < vis; j += blockDim.x) sum += expf(dst[j] - mx);
    sum = block_sum(sum, scratch);
    for (int j = threadIdx.x; j < keys; j += blockDim.x) dst[j] = j < vis ? expf(dst[j] - mx) / sum : 0.f;
}

// Attention received by each key summed over all queries: column_sums [Hq, S], from the row
// log-sum-exps [Hq, T] that attention_forward wrote. Grid (ceil(S / 32), Hq), ATT_WARPS warps:
// lane j owns key j of the block's tile, warps split the queries.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention_column_sums(const float* q, long long qs0, long long qs1, const float* k, long long ks0, long long ks1,
                      const float* lse, float* column_sums, int tokens, int keys, int q_heads, int kv_heads,
                      int dim, float scale, int query_start) {
    extern __shared__ float smem[];
    float* ks = smem;
    float* qsh = ks + ATT_TILE * (dim + 1);
    __shared__ float partial[ATT_WARPS][ATT_TILE];
    const int head = blockIdx.y, j0 = blockIdx.x * ATT_TILE;
    const int kv_head = head / (q_heads / kv_heads);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int idx = threadIdx.x; idx < ATT_TILE * dim; idx += blockDim.x) {
        int j = idx / dim, d = idx % dim, key = j0 + j;
        ks[j * (dim + 1) + d] = key < keys ? k[key * ks0 + kv_head * ks1 + d] : 0.f;
    }
    __syncthreads();
    const int key = j0 + lane;
    float* qrow = qsh + warp * dim;
    const float* krow = ks + lane * (dim + 1);
    float total = 0.f;
    int first_t = query_start < 0 ? 0 : max(0, j0 - query_start);
    for (int t = first_t + warp; t < tokens; t += ATT_WARPS) {
        __syncwarp();
        for (int d = lane; d < dim; d += 32) qrow[d] = q[t * qs0 + head * qs1 + d];
        __syncwarp();
        float dot = 0.f;
        for (int d = 0; d < dim; d++) dot += qrow[d] * krow[d];
        if (key < visible_keys(t, keys, query_start)) total += expf(dot * scale - lse[(long long)head * tokens + t]);
    }
    partial[warp][lane] = total;
    __syncthreads();
    if (warp == 0 && key < keys) {
        float s = 0.f;
        for (int w = 0; w < ATT_WARPS; w++) s += partial[w][lane];
        column_sums[(long long)head * keys + key] = s;
    }
}
