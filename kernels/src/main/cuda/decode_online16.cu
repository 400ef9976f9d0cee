// Online flash-decoding over 16-bit KV caches for 8-head groups with 16-byte key loads
// (decode_online.cuh with KP = 4: the 8 heads scored in two passes of 4 over the same key rows, the
// tile's value rows and the warp's next key rows prefetched into L2), chosen over decode.cu's
// attention_decode_online_<t>_vec8_h8 with -Dglimpse.cuda.decodeOnline16=passes (OnlineScores16).
// A module of its own: stamping these kernels out in decode.cu changed the code NVVM and ptxas
// generate for decode.cu's other online kernels (tools/cuda/sass-diff.sh), which must stay as they are
// until the GPU measurements choose between them.
//
// Same arguments, grid, workspace and counters as attention_decode_online_<t>_vec8_h8 (dim % 8 == 0,
// dim <= ONL_MAX_DIM, 16-byte aligned q, caches and workspace); F32 scores, softmax and sums (within
// the CPU tolerance of the other online kernels, not their bits: the dot products are summed in
// another order). Every kernel starts with grid_dependency_enter().
#include "common.cuh"
#include "grid_dependency.cuh"
#include "decode_online.cuh"

#define DECODE_ONLINE_PASSES_KERNEL(name, HP, T, KP)                                                             \
    extern "C" __global__ void __launch_bounds__(DEC_THREADS)                                                    \
    name(const float* q, const T* key_cache, const T* value_cache, float* partial_acc,                           \
         float* partial_stats, float* out, int* counters, const int* key_count, int q_heads, int kv_heads,      \
         int capacity, int dim, int splits, int heads_per_block, float scale) {                                  \
        grid_dependency_enter();                                                                                 \
        decode_online_fused<8, HP, T, KP>(q, key_cache, value_cache, partial_acc, partial_stats, out,           \
                                          counters, key_count, q_heads, kv_heads, capacity, dim, splits,        \
                                          heads_per_block, scale);                                               \
    }

DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_bf16_vec8_h8_passes, 8, __nv_bfloat16, 4)
DECODE_ONLINE_PASSES_KERNEL(attention_decode_online_f16_vec8_h8_passes, 8, __half, 4)
