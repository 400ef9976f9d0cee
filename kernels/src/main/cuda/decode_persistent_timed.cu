// decode_persistent.cu's kernels recording, per block, the %globaltimer of its start and of its
// arrival at and release from every grid barrier (CudaPersistentDecode, selected by
// -Dglimpse.cuda.decodeMegakernel.timers=true): timers is [blocks] start times, then
// [layers][PD_PHASES][blocks][arrival, release], u64 nanoseconds. The stores are all they add: the
// same arithmetic, so the same bits as the untimed kernels.
#include "decode_persistent.cuh"

#define DECODE_LAYERS_TIMED_KERNEL(NAME, H, T)                                                                      \
    extern "C" __global__ void __launch_bounds__(PD_THREADS, 2) NAME(const DecodeParams p, unsigned long long* timers) { \
        decode_layers<H, T, true, PD_R>(p, timers);                                                                      \
    }

DECODE_LAYERS_TIMED_KERNEL(decode_layers_bf16_kv_f32_timed, __nv_bfloat16, float)
DECODE_LAYERS_TIMED_KERNEL(decode_layers_bf16_kv_bf16_timed, __nv_bfloat16, __nv_bfloat16)
DECODE_LAYERS_TIMED_KERNEL(decode_layers_f16_kv_f32_timed, __half, float)
DECODE_LAYERS_TIMED_KERNEL(decode_layers_f16_kv_f16_timed, __half, __half)
