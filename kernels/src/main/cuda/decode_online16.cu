// Online flash-decoding over 16-bit KV caches for 8-head groups with 16-byte key loads
// (decode_online.cuh with KP = 4: the 8 heads scored in two passes of 4 over the same key rows, the
// tile's value rows and the warp's next key rows prefetched into L2), chosen over decode.cu's
// attention_decode_online_<t>_vec8_h8 with -Dglimpse.cuda.decodeOnline16=passes (OnlineDecode16); the
// _passes_early kernels (=passes_early) also prefetch their split's whole key and value chunk into
// L2 before the grid dependency wait.
// A module of its own: stamping these kernels out in decode.cu changed the code NVVM and ptxas
// generate for decode.cu's other online kernels (tools/cuda/sass-diff.sh), which must stay as they are
// until the GPU measurements choose between them.
//
// Same arguments, grid, workspace and counters as attention_decode_online_<t>_vec8_h8 (dim % 8 == 0,
// dim <= ONL_MAX_DIM, 16-byte aligned q, caches and workspace); F32 scores, softmax and sums (within
// the CPU tolerance of the other online kernels, not their bits: the dot products are summed in
// another order). Every kernel calls grid_dependency_enter() before it reads anything but the key
// count (the _early kernels' prefetch, online_prefetch_chunk).
#include "common.cuh"
#include "grid_dependency.cuh"
#include "decode_online.cuh"

// The _early kernels' L2 prefetch of their split's whole key and value chunk, issued before the grid
// dependency wait so that it overlaps the previous kernel (with PDL). The key count is read before the
// wait too: it may be stale there (a stale count prefetches other lines of the same caches, as
// decode_keys clamps it to the capacity), and the block reads it again after the wait. A prefetch
// never changes what the block reads: L2 is coherent with the previous kernel's writes, L1 is not filled.
template <typename T>
__device__ __forceinline__ void online_prefetch_chunk(const T* key_cache, const T* value_cache, const int* key_count,
                                                      int q_heads, int kv_heads, int capacity, int dim, int splits,
                                                      int heads_per_block) {
    constexpr int LINE = 128 / sizeof(T);
    const int group = q_heads / kv_heads;
    const int head_blocks = (group + heads_per_block - 1) / heads_per_block;
    const int kv = blockIdx.x / head_blocks;
    const int keys = decode_keys(key_count, capacity);
    if (keys == 0) return;
    const int chunk = online_chunk(keys, splits);
    const int start = blockIdx.y * chunk;
    if (start >= keys) return;
    const long long base = ((long long)kv * capacity + start) * dim;
    const long long entries = (long long)min(chunk, keys - start) * dim;
    for (long long i = (long long)threadIdx.x * LINE; i < entries; i += DEC_THREADS * LINE) {
        prefetch_l2(key_cache + base + i);
        prefetch_l2(value_cache + base + i);
    }
}

// EARLY: the kernel first prefetches its chunk (online_prefetch_chunk).
#define DECODE_ONLINE_PASSES_KERNEL(name, HP, T, KP, EARLY)                                                      \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS)                                                    \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc,                           \
         float* partial_stats, float* out, int* counters, const int* key_count, int q_heads, int kv_heads,      \
         int capacity, int dim, int splits, int heads_per_block, float scale) {                                  \
        if (EARLY)                                                                                               \
            online_prefetch_chunk<T>(key_cache, value_cache, key_count, q_heads, kv_heads, capacity, dim,        \
                                     splits, heads_per_block);                                                   \
        grid_dependency_enter();                                                                                 \
        decode_online_fused<8, HP, T, KP>(q, key_cache, value_cache, partial_acc, partial_stats, out,           \
                                          counters, key_count, q_heads, kv_heads, capacity, dim, splits,        \
                                          heads_per_block, scale);                                               \
    }

DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_bf16_vec8_h8_passes, 8, __nv_bfloat16, 4, false)
DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_f16_vec8_h8_passes, 8, __half, 4, false)
DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_bf16_vec8_h8_passes_early, 8, __nv_bfloat16, 4, true)
DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_f16_vec8_h8_passes_early, 8, __half, 4, true)
