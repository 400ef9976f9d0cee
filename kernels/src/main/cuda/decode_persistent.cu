// A persistent decode step (batch 1, F16/BF16 weights): ONE launch runs every decoder layer of a
// Llama/Qwen2 decoder, its phases separated by a software grid barrier instead of kernel boundaries
// (CudaPersistentDecode launches exactly as many blocks as are co-resident, so every block reaches
// every barrier). Per layer:
//   1. RMSNorm(x) staged per block, then q, k, v = W xn + b (grid-stride over 4-row warp groups,
//      gemv_core.cuh), while the block asks L2 for its attention chunks of the layer's KV cache;
//   2. attention over the cache split into 64-key chunks, one (kv head, chunk) item per block at a
//      time: K and V rows staged in shared memory as F32 (every load of a pass in flight at once),
//      the group's query heads rotated (RoPE) there; the block whose chunk holds the new entry
//      rotates k and stores k and v into the cache (rounded for a 16-bit cache) and into its staged
//      rows; each query head writes its chunk's max, sum and unnormalised P V to the partials;
//      once a kv head's chunks are all counted, one block per query head (from the end of the grid,
//      where the blocks without items are) merges the head's chunks into the attention output (the
//      whole block over one head: chunk subsets summed in parallel, then added in a fixed order);
//   3. residual = x + o_proj(attention) + bias;
//   4. RMSNorm(residual) staged, act = act_fn(gate + b) * (up + b);
//   5. x = residual + down(act) + bias.
// Before each barrier a block asks L2 for its share of the next phase's weights, so HBM keeps
// streaming while the grid waits. Data written inside the launch by other blocks is read with
// ld.global.cg (L1 is not coherent across blocks); weights and tables written before the launch
// are read as usual. F32 accumulation throughout: the existing step's values to F32 rounding (the
// sums run in other orders), not its bits.
//
// The barrier state lives in device memory ([0..1] a 64-bit arrival count, [2] aborted, then one
// finished-chunk counter per kv head): the arrival count only grows (each barrier waits for the next
// multiple of the grid, grid_barrier) and block 0 zeroes the chunk counters after every attention
// phase, so every launch finds a valid state and a replayed graph needs no reset. The kernel calls no grid_dependency_enter (it
// is not a PDL kernel: a dependent kernel starting early could take the SM space the grid needs).
#include "decode_persistent.cuh"

#define DECODE_LAYERS_KERNEL(NAME, H, T)                                                             \
    extern "C" __global__ void __launch_bounds__(PD_THREADS, 2) NAME(const DecodeParams p) {      \
        decode_layers<H, T, false, PD_R>(p, nullptr);                                                      \
    }

DECODE_LAYERS_KERNEL(decode_layers_bf16_kv_f32, __nv_bfloat16, float)
DECODE_LAYERS_KERNEL(decode_layers_bf16_kv_bf16, __nv_bfloat16, __nv_bfloat16)
DECODE_LAYERS_KERNEL(decode_layers_f16_kv_f32, __half, float)
DECODE_LAYERS_KERNEL(decode_layers_f16_kv_f16, __half, __half)
