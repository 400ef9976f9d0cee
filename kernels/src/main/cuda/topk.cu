// Batched top-k over F32 scores [rows, n] (row_stride elements apart, packed inside) by radix
// selection, one block per row, with the CPU backend's rules: an order-preserving unsigned key
// per score (NaN lowest, -0.0 equal to +0.0), ties keep the lower index.
//
// 1. Four 8-bit digit passes from the top: a 256-bucket histogram of the candidates (keys that
//    share the digits found so far) finds the digit of the k-th largest key. After them `kth` is
//    that key and `need` the number of keys equal to it to take.
// 2. Compaction in index order: each thread takes a contiguous chunk, a block scan gives every
//    chunk its count of greater and equal keys before it; keys > kth are taken, and keys == kth
//    while fewer than `need` equal keys come before them (the lowest indices).
// 3. BY_INDEX writes in that order. BY_VALUE writes (key << 32 | ~index) composites and sorts
//    them descending with a bitonic sort, in shared memory when they fit, else in the row's
//    slice of sort_scratch.
//
// Keys are cached in shared memory when keys_in_smem; otherwise each pass re-reads the scores.
#include "common.cuh"
#include "grid_dependency.cuh"

__device__ __forceinline__ unsigned score_key(float v) {
    unsigned bits = __float_as_uint(v);
    if (bits == 0x80000000u) bits = 0u;
    unsigned key = bits ^ ((unsigned)((int)bits >> 31) | 0x80000000u);
    return v != v ? 0u : key;
}

extern "C" __global__ void topk_rows(const float* scores, long long row_stride, int n, int k, int by_value,
                                     int* out_idx, float* out_val, unsigned long long* sort_scratch,
                                     int sort_size, int sort_in_smem, int keys_in_smem) {
    grid_dependency_wait();
    extern __shared__ unsigned long long dyn[];
    __shared__ int hist[256];
    __shared__ int scan_scratch[32];
    __shared__ unsigned sh_prefix;
    __shared__ int sh_need;

    const float* s = scores + (long long)blockIdx.x * row_stride;
    unsigned long long* sorted = sort_in_smem ? dyn : sort_scratch + (long long)blockIdx.x * sort_size;
    unsigned* keys = reinterpret_cast<unsigned*>(sort_in_smem ? dyn + sort_size : dyn);
    const int tid = threadIdx.x, nt = blockDim.x;

    if (keys_in_smem) {
        for (int i = tid; i < n; i += nt) keys[i] = score_key(s[i]);
    }
    if (tid == 0) {
        sh_prefix = 0u;
        sh_need = k;
    }
    unsigned mask = 0u;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += nt) hist[b] = 0;
        __syncthreads();
        const unsigned prefix = sh_prefix;
        for (int i = tid; i < n; i += nt) {
            unsigned key = keys_in_smem ? keys[i] : score_key(s[i]);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xFF], 1);
        }
        __syncthreads();
        const int need = sh_need;
        int c = tid < 256 ? hist[255 - tid] : 0;
        int incl = block_scan_inclusive(c, scan_scratch);
        __syncthreads();
        if (tid < 256 && incl - c < need && need <= incl) {
            sh_prefix = prefix | ((unsigned)(255 - tid) << shift);
            sh_need = need - (incl - c);
        }
        mask |= 0xFFu << shift;
        __syncthreads();
    }
    const unsigned kth = sh_prefix;
    const int need_equal = sh_need;

    const int chunk = (n + nt - 1) / nt;
    const int lo = min(n, tid * chunk), hi = min(n, lo + chunk);
    int greater = 0, equal = 0;
    for (int i = lo; i < hi; i++) {
        unsigned key = keys_in_smem ? keys[i] : score_key(s[i]);
        greater += key > kth;
        equal += key == kth;
    }
    int greater_before = block_scan_inclusive(greater, scan_scratch) - greater;
    int equal_before = block_scan_inclusive(equal, scan_scratch) - equal;
    int pos = greater_before + min(equal_before, need_equal);
    int equal_seen = equal_before;
    int* idx_row = out_idx + (long long)blockIdx.x * k;
    float* val_row = out_val + (long long)blockIdx.x * k;
    for (int i = lo; i < hi; i++) {
        unsigned key = keys_in_smem ? keys[i] : score_key(s[i]);
        bool take = key > kth;
        if (key == kth) take = equal_seen++ < need_equal;
        if (take) {
            if (by_value) {
                sorted[pos] = ((unsigned long long)key << 32) | (0xFFFFFFFFu - (unsigned)i);
            } else {
                idx_row[pos] = i;
                val_row[pos] = s[i];
            }
            pos++;
        }
    }
    if (!by_value) return;
    for (int p = k + tid; p < sort_size; p += nt) sorted[p] = 0ull;
    __syncthreads();
    for (int size = 2; size <= sort_size; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int t = tid; t < (sort_size >> 1); t += nt) {
                int i = 2 * t - (t & (stride - 1));
                int j = i + stride;
                bool descending = (i & size) == 0;
                unsigned long long a = sorted[i], b = sorted[j];
                if ((a < b) == descending) {
                    sorted[i] = b;
                    sorted[j] = a;
                }
            }
            __syncthreads();
        }
    }
    for (int p = tid; p < k; p += nt) {
        int i = (int)(0xFFFFFFFFu - (unsigned)(sorted[p] & 0xFFFFFFFFull));
        idx_row[p] = i;
        val_row[p] = s[i];
    }
}
