// Online flash-decoding (decode.cu, decode_online16.cu): the split blocks' running softmax and the
// fused last-block merge; the kernels are stamped out by the including module.
#pragma once
#include "decode_merge.cuh"

// Online flash-decoding for long contexts: attention_decode_online[_vec4]_h<HP> computes what
// attention_decode_fused does (F32 scores, softmax and sums; not the same bits) with fewer serial
// phases per block and larger chunks, so fewer splits reach the merge.
//
// Grid (kv_heads * head_blocks, splits), DEC_THREADS threads, heads_per_block <= HP (a power of two
// <= DEC_MAX_HEADS; heads past the block's score zero queries, read from global memory with the
// keys, so the first key loads wait for no barrier), dim <= ONL_MAX_DIM.
// Split s takes a chunk of online_chunk(keys, splits) keys (a multiple of ONL_GRAIN: every warp gets
// whole 32-key tiles, warp w the tiles w, w + ONL_WARPS, ...). Each warp keeps a running softmax
// (max m, sum l, unnormalised P V) per head in registers, tile by tile:
// - scores: ONL_KEY_LANES lanes per key row (lane r reads columns r, r + 8, ... of rows
//   rg, rg + 4, ..., rg = lane / 8, ONL_ROWS rows), dot products with every head at once, then a
//   reduce-scatter over the 8 lanes (online_reduce_heads) leaves head r % HP's score in lane r;
// - softmax: the tile's max per head over the 4 row groups, rescale factor exp(m - m'), p = exp(s - m');
//   p and the factors go through the warp's shared buffer;
// - P V: lanes over value columns (8, 16 or 32 lanes per row), rows of the tile in order, the value
//   loads of ONL_BATCH rows issued before their products.
// The block's warps then merge their (m, l, P V) in shared memory in a fixed tree order and write the
// split's partials like attention_decode_split; the last block of a head group merges the splits
// with decode_merge as attention_decode_fused does (same counters, reset to zero after).
#define ONL_TILE 32
#define ONL_KEY_LANES 8
#define ONL_ROWS (ONL_TILE * ONL_KEY_LANES / 32)
#define ONL_WARPS (DEC_THREADS / 32)
#define ONL_GRAIN (ONL_TILE * ONL_WARPS)
#define ONL_MAX_DIM 128
#define ONL_BATCH 8

// Keys per split: the count spread over the splits, a multiple of ONL_GRAIN, at least ONL_GRAIN.
__device__ __forceinline__ int online_chunk(int keys, int splits) {
    int per = (keys + splits - 1) / splits;
    per = (per + ONL_GRAIN - 1) / ONL_GRAIN * ONL_GRAIN;
    return max(per, ONL_GRAIN);
}

// v[h] holds this lane's partial dot of one key row with head h; the 8 lanes of a row group
// (lanes differing in bits 0..2) together hold the full dots. Returns the full dot of head
// lane % HP: butterfly sums over the lane bits above HP, then a reduce-scatter over the rest, each
// step keeping the half of the heads its lane bit selects and adding the partner's copy of it.
template <int HP>
__device__ __forceinline__ float online_reduce_heads(float (&v)[HP], int lane) {
#pragma unroll
    for (int o = ONL_KEY_LANES / 2; o >= HP; o >>= 1) {
#pragma unroll
        for (int h = 0; h < HP; h++) v[h] += __shfl_xor_sync(0xffffffffu, v[h], o);
    }
#pragma unroll
    for (int n = HP; n > 1; n >>= 1) {
        const int o = n / 2;
        const bool upper = (lane & o) != 0;
#pragma unroll
        for (int i = 0; i < n / 2; i++) {
            const float keep = upper ? v[i + o] : v[i];
            const float send = upper ? v[i] : v[i + o];
            v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
        }
    }
    return v[0];
}

// L2 prefetch of the 128-byte line holding p (a global address).
__device__ __forceinline__ void prefetch_l2(const void* p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(p)));
}

// The _passes kernels' prefetch when a warp starts the tile at row - lane: the value row `row` of the
// tile and the key row of the warp's next tile, whole rows (dim entries of T), rows past n skipped.
template <typename T>
__device__ __forceinline__ void online_prefetch_tile(const T* kb, const T* vb, int row, int n, int dim) {
    constexpr int LINE = 128 / sizeof(T);
    const int next = row + ONL_WARPS * ONL_TILE;
    for (int b = 0; b < dim; b += LINE) {
        if (row < n) prefetch_l2(vb + (long long)row * dim + b);
        if (next < n) prefetch_l2(kb + (long long)next * dim + b);
    }
}

// One score pass's partial dot products: part[j][h] += q of head p0 + h (zero past nh) . the key
// entries kv8[j] at column piece c (SW entries).
template <int SW, int KP, typename T>
__device__ __forceinline__ void online_pass_dots(const KvVec<SW, T> (&kv8)[ONL_ROWS], const float* __restrict__ qh,
                                                 int p0, int nh, int dim, int c, float (&part)[ONL_ROWS][KP]) {
#pragma unroll
    for (int h = 0; h < KP; h++) {
        float qv[SW];
#pragma unroll
        for (int i = 0; i < SW; i++) qv[i] = 0.f;
        if (p0 + h < nh) load_vec<SW>(qh + (p0 + h) * dim + c * SW, qv);
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
            for (int i = 0; i < SW; i++) part[j][h] += qv[i] * kv8[j][i];
        }
    }
}

// The key entries of the tile's rows rg + 4 j (of the tile at t0) at column piece c, zeros past n.
template <int SW, typename T>
__device__ __forceinline__ void online_load_keys(KvVec<SW, T> (&kv8)[ONL_ROWS], const T* __restrict__ kb, int t0,
                                                 int n, int rg, int dim, int c) {
#pragma unroll
    for (int j = 0; j < ONL_ROWS; j++) {
        const int row = t0 + rg + 4 * j;
        kv8[j].zero();
        if (row < n) kv8[j].load(kb + (long long)row * dim + c * SW);
    }
}

// The scores of a tile's rows in passes of KP heads (KP < HP), each pass's KP dot products
// reduce-scattered over the row's 8 lanes (online_reduce_heads<KP> leaves head p0 + lane % KP in this
// lane): dot[j][0] becomes this lane's full dot of row rg + 4 j (of the tile at t0) with head
// (lane % ONL_KEY_LANES) % HP, as online_reduce_heads<HP> over all heads would leave it. Where each
// lane holds at most one column piece of a row (dim <= ONL_KEY_LANES * SW, e.g. 64 at 8 entries per
// load) its keys are loaded once for all passes; wider rows reload them (from L1) in every pass.
template <int SW, int HP, int KP, typename T>
__device__ __forceinline__ void online_scores_in_passes(const T* __restrict__ kb, const float* __restrict__ qh,
                                                        int t0, int n, int nh, int dim, int kcols, int r, int rg,
                                                        int lane, float (&dot)[ONL_ROWS][HP]) {
    const int head = r % HP;
    const bool one_piece = kcols <= ONL_KEY_LANES;
    KvVec<SW, T> held[ONL_ROWS];
    if (one_piece) {
        online_load_keys<SW, T>(held, kb, t0, r < kcols ? n : 0, rg, dim, r);
    }
#pragma unroll
    for (int p0 = 0; p0 < HP; p0 += KP) {
        float part[ONL_ROWS][KP];
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
            for (int h = 0; h < KP; h++) part[j][h] = 0.f;
        }
        if (one_piece) {
            if (r < kcols) online_pass_dots<SW, KP, T>(held, qh, p0, nh, dim, r, part);
        } else {
            for (int c = r; c < kcols; c += ONL_KEY_LANES) {
                KvVec<SW, T> kv8[ONL_ROWS];
                online_load_keys<SW, T>(kv8, kb, t0, n, rg, dim, c);
                online_pass_dots<SW, KP, T>(kv8, qh, p0, nh, dim, c, part);
            }
        }
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
            const float x = online_reduce_heads<KP>(part[j], lane);
            if (head - head % KP == p0) dot[j][0] = x;
        }
    }
}

// KP: heads per score pass. KP == HP scores every head at once; KP < HP (the _passes kernels, 16-bit
// caches at HP 8: 8 heads' dot products of 8 rows with 16-byte key loads take more registers than
// there are) scores the heads KP at a time over the same key rows, each pass reduce-scattering its KP
// dot products (online_reduce_heads<KP>) and the lanes of head r % HP keeping their pass's result;
// those kernels also prefetch into L2 the tile's value rows and the warp's next tile's key rows when
// a tile starts, so the loads after the softmax and of the next tile do not wait for HBM.
template <int VW, int HP, typename T, int KP = HP>
__device__ __forceinline__ void
decode_online(const float* __restrict__ q, const T* __restrict__ key_cache, const T* __restrict__ value_cache,
              float* __restrict__ partial_acc, float* __restrict__ partial_stats, int kv, int h0, int nh, int start,
              int n, int capacity, int dim, int splits, float scale) {
    // Values per load: scores VW (16-bit h8 scoring all heads at once: 4, as 8 values of 8 heads'
    // products take more registers than there are), P V at most 4 (16-bit: 8 bytes).
    constexpr int SW = VW == 8 && HP == 8 && KP == HP ? 4 : VW;
    constexpr int PW = MERGE_VW(VW);
    constexpr int CPL = ONL_MAX_DIM / PW / 32 > 0 ? ONL_MAX_DIM / PW / 32 : 1;
    __shared__ float pbuf[ONL_WARPS][ONL_TILE * HP + HP];
    __shared__ __align__(16) float mbuf[ONL_WARPS / 2][HP * ONL_MAX_DIM];
    __shared__ float wm[ONL_WARPS][HP], wl[ONL_WARPS][HP];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int split = blockIdx.y;
    const int kcols = dim / SW, cols = dim / PW;

    // Score layout: key lane r, row group rg. Value layout: vl lanes per row, row vr of rpi per pass.
    const int r = lane % ONL_KEY_LANES, rg = lane / ONL_KEY_LANES;
    const int head = r % HP;
    const int vl = cols > 16 ? 32 : (cols > 8 ? 16 : 8);
    const int rpi = 32 / vl, vr = lane / vl, vc = lane % vl;
    const T* kb = key_cache + ((long long)kv * capacity + start) * dim;
    const float* qh = q + (long long)h0 * dim;
    const T* vb = value_cache + ((long long)kv * capacity + start) * dim;
    float* pw = pbuf[warp];
    float m = -INFINITY, l = 0.f;
    float acc[HP][CPL][PW];
#pragma unroll
    for (int h = 0; h < HP; h++) {
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
            for (int i = 0; i < PW; i++) acc[h][cl][i] = 0.f;
        }
    }

    for (int t0 = warp * ONL_TILE; t0 < n; t0 += ONL_WARPS * ONL_TILE) {
        float dot[ONL_ROWS][HP];
        if constexpr (KP == HP) {
#pragma unroll
            for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
                for (int h = 0; h < HP; h++) dot[j][h] = 0.f;
            }
#pragma unroll 2
            for (int c = r; c < kcols; c += ONL_KEY_LANES) {
                KvVec<SW, T> kv4[ONL_ROWS];
#pragma unroll
                for (int j = 0; j < ONL_ROWS; j++) {
                    const int row = t0 + rg + 4 * j;
                    kv4[j].zero();
                    if (row < n) kv4[j].load(kb + (long long)row * dim + c * SW);
                }
#pragma unroll
                for (int h = 0; h < HP; h++) {
                    float qv[SW];
#pragma unroll
                    for (int i = 0; i < SW; i++) qv[i] = 0.f;
                    if (h < nh) load_vec<SW>(qh + h * dim + c * SW, qv);
#pragma unroll
                    for (int j = 0; j < ONL_ROWS; j++) {
#pragma unroll
                        for (int i = 0; i < SW; i++) dot[j][h] += qv[i] * kv4[j][i];
                    }
                }
            }
        } else {
            online_prefetch_tile<T>(kb, vb, t0 + lane, n, dim);
            online_scores_in_passes<SW, HP, KP, T>(kb, qh, t0, n, nh, dim, kcols, r, rg, lane, dot);
        }
        float s[ONL_ROWS];
        float tmax = -INFINITY;
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
            const float x = (KP == HP ? online_reduce_heads<HP>(dot[j], lane) : dot[j][0]) * scale;
            s[j] = t0 + rg + 4 * j < n ? x : -INFINITY;
            tmax = fmaxf(tmax, s[j]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 8));
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 16));
        const float mnew = fmaxf(m, tmax);
        const float alpha = expf(m - mnew);
        float psum = 0.f;
#pragma unroll
        for (int j = 0; j < ONL_ROWS; j++) {
            const float p = expf(s[j] - mnew);
            psum += p;
            if (r < HP) pw[(rg + 4 * j) * HP + head] = p;
        }
        l = l * alpha + psum;
        m = mnew;
        if (rg == 0 && r < HP) pw[ONL_TILE * HP + head] = alpha;
        __syncwarp();

#pragma unroll
        for (int h = 0; h < HP; h++) {
            const float a = pw[ONL_TILE * HP + h];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                for (int i = 0; i < PW; i++) acc[h][cl][i] *= a;
            }
        }
        // Rows vr, vr + rpi, ... of the tile, ONL_BATCH at a time: their value loads are all issued
        // before the first product; rows past the chunk load zeros (their p is zero too).
        const int rows = min(ONL_TILE, n - t0);
        for (int j0 = vr; j0 < ONL_TILE; j0 += ONL_BATCH * rpi) {
            KvVec<PW, T> v[ONL_BATCH][CPL];
#pragma unroll
            for (int u = 0; u < ONL_BATCH; u++) {
                const int j = j0 + u * rpi;
#pragma unroll
                for (int cl = 0; cl < CPL; cl++) {
                    const int c = vc + cl * vl;
                    v[u][cl].zero();
                    if (j < rows && c < cols) v[u][cl].load(vb + (long long)(t0 + j) * dim + c * PW);
                }
            }
#pragma unroll
            for (int u = 0; u < ONL_BATCH; u++) {
                const int j = min(j0 + u * rpi, ONL_TILE - 1);
                float p[HP];
#pragma unroll
                for (int h = 0; h < HP; h++) p[h] = j0 + u * rpi < rows ? pw[j * HP + h] : 0.f;
#pragma unroll
                for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) acc[h][cl][i] += p[h] * v[u][cl][i];
                    }
                }
            }
        }
        __syncwarp();
    }

    // The warp's P V over its row lanes (vr) into the lanes with vr == 0; its l over the row groups.
    for (int o = 16; o >= vl; o >>= 1) {
#pragma unroll
        for (int h = 0; h < HP; h++) {
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
                for (int i = 0; i < PW; i++) acc[h][cl][i] += __shfl_xor_sync(0xffffffffu, acc[h][cl][i], o);
            }
        }
    }
    l += __shfl_xor_sync(0xffffffffu, l, 8);
    l += __shfl_xor_sync(0xffffffffu, l, 16);
    if (rg == 0 && r < HP) {
        wm[warp][head] = m;
        wl[warp][head] = l;
    }
    __syncthreads();

    // Block merge: each warp's sums scaled to the block max, then added in a fixed tree order.
    float bmax[HP];
#pragma unroll
    for (int h = 0; h < HP; h++) {
        float x = wm[0][h];
#pragma unroll
        for (int w = 1; w < ONL_WARPS; w++) x = fmaxf(x, wm[w][h]);
        bmax[h] = x;
        const float f = expf(wm[warp][h] - x);
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
#pragma unroll
            for (int i = 0; i < PW; i++) acc[h][cl][i] *= f;
        }
    }
    for (int half = ONL_WARPS / 2; half >= 1; half >>= 1) {
        if (warp >= half && warp < 2 * half && vr == 0) {
            float* dst = mbuf[warp - half];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
                const int c = vc + cl * vl;
                if (c < cols) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) dst[h * dim + c * PW + i] = acc[h][cl][i];
                    }
                }
            }
        }
        __syncthreads();
        if (warp < half && vr == 0) {
            const float* src = mbuf[warp];
#pragma unroll
            for (int cl = 0; cl < CPL; cl++) {
                const int c = vc + cl * vl;
                if (c < cols) {
#pragma unroll
                    for (int h = 0; h < HP; h++) {
#pragma unroll
                        for (int i = 0; i < PW; i++) acc[h][cl][i] += src[h * dim + c * PW + i];
                    }
                }
            }
        }
        __syncthreads();
    }
    if (warp == 0 && vr == 0) {
#pragma unroll
        for (int cl = 0; cl < CPL; cl++) {
            const int c = vc + cl * vl;
            if (c < cols) {
#pragma unroll
                for (int h = 0; h < HP; h++) {
                    if (h < nh) {
                        float* dst = partial_acc + ((long long)(h0 + h) * splits + split) * dim + c * PW;
#pragma unroll
                        for (int i = 0; i < PW; i++) dst[i] = acc[h][cl][i];
                    }
                }
            }
        }
    }
    if (threadIdx.x < nh) {
        const int h = threadIdx.x;
        float mx = wm[0][h];
        for (int w = 1; w < ONL_WARPS; w++) mx = fmaxf(mx, wm[w][h]);
        float sum = 0.f;
        for (int w = 0; w < ONL_WARPS; w++) sum += wl[w][h] * expf(wm[w][h] - mx);
        float* st = partial_stats + ((long long)(h0 + h) * splits + split) * 2;
        st[0] = mx;
        st[1] = sum;
    }
}

// Online split blocks with the fused last-block merge (see above); counters as attention_decode_fused.
template <int VW, int HP, typename T, int KP = HP>
__device__ __forceinline__ void
decode_online_fused(const float* q, const T* key_cache, const T* value_cache, float* partial_acc,
                    float* partial_stats, float* out, int* counters, const int* key_count, int q_heads, int kv_heads,
                    int capacity, int dim, int splits, int heads_per_block, float scale) {
    // The head block and the split count are spelled out here, not decode_heads / decode_last_split as in
    // decode.cu's and decode_wide.cu's fused kernels: with those helpers here NVVM emits other code for
    // decode_online16.cu's sm_90 kernels (its PTX is not even the same from one nvcc run to the next).
    __shared__ int merges;
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int h0 = kv * group + (blockIdx.x % head_blocks) * heads_per_block;
    const int nh = min(heads_per_block, (kv + 1) * group - h0);
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) {
        decode_zero_heads<DEC_THREADS>(out, h0, nh, dim);
        return;
    }
    const int chunk = online_chunk(keys, splits);
    const int used = (keys + chunk - 1) / chunk;
    if (blockIdx.y >= used) return;
    const int start = blockIdx.y * chunk;
    decode_online<VW, HP, T, KP>(q, key_cache, value_cache, partial_acc, partial_stats, kv, h0, nh, start,
                          min(chunk, keys - start), capacity, dim, splits, scale);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        const bool last = atomicAdd(counters + blockIdx.x, 1) == used - 1;
        if (last) {
            atomicExch(counters + blockIdx.x, 0);
            __threadfence();
        }
        merges = last;
    }
    __syncthreads();
    if (merges) decode_merge<MERGE_VW(VW)>(partial_acc, partial_stats, out, h0, nh, used, dim, splits);
}
