// decode_persistent.cu's kernels with one weight row per warp group in the q/k/v and o_proj phases
// instead of PD_R (CudaPersistentDecode, -Dglimpse.cuda.decodeMegakernel=wide): four times the row
// groups (Qwen2-0.5B on 264 blocks: q/k/v 288 instead of 72, o_proj 224 instead of 56), so nearly every
// block streams a share of those weights instead of a quarter of them streaming four rows each. Each
// lane reads the same 16-byte chunks of a row as in the PD_R core (PD_U per step, the same k split), so
// every output is the same sum in the same order: the untimed kernels' bits. _timed as in
// decode_persistent_timed.cu. Its own module so that decode_persistent.cu's kernels keep their SASS.
#include "decode_persistent.cuh"

#define DECODE_LAYERS_WIDE_KERNELS(NAME, H, T)                                                                     \
    extern "C" __global__ void __launch_bounds__(PD_THREADS, 2) NAME(const DecodeParams p) {                    \
        decode_layers<H, T, false, 1>(p, nullptr);                                                                 \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(PD_THREADS, 2) NAME##_timed(const DecodeParams p,              \
                                                                             unsigned long long* timers) {        \
        decode_layers<H, T, true, 1>(p, timers);                                                                   \
    }

DECODE_LAYERS_WIDE_KERNELS(decode_layers_wide_bf16_kv_f32, __nv_bfloat16, float)
DECODE_LAYERS_WIDE_KERNELS(decode_layers_wide_bf16_kv_bf16, __nv_bfloat16, __nv_bfloat16)
DECODE_LAYERS_WIDE_KERNELS(decode_layers_wide_f16_kv_f32, __half, float)
DECODE_LAYERS_WIDE_KERNELS(decode_layers_wide_f16_kv_f16, __half, __half)
