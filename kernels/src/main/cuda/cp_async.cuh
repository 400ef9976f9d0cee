// cp.async (sm_80+): asynchronous 16-byte copies from global to shared memory, shared by the
// attention kernels (attention_mma.cuh) and the staged decode GEMVs (gemv_core.cuh).
#pragma once
#include "common.cuh"

// Asynchronous copy of 16 bytes global -> shared (cp.async, sm_80+, bypassing L1): the first
// `bytes` are read from src and the rest of the destination is zero-filled (bytes = 0: nothing is
// read, the destination becomes zeros). The source is a global-space address, as the
// instruction's state space asks.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int bytes) {
    uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(__cvta_generic_to_global(src)),
                 "r"(bytes)
                 : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits for this thread's copies; a __syncthreads after it makes every thread's copies visible.
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// Waits until at most `pending` of this thread's most recent commit groups are still in flight (wait_group takes
// an immediate: past MAX it waits for all but MAX, which is stricter, never looser).
template <int MAX>
__device__ __forceinline__ void cp_async_wait_pending(int pending) {
    if constexpr (MAX == 0) {
        cp_async_wait_all();
    } else {
        if (pending >= MAX) {
            asm volatile("cp.async.wait_group %0;" ::"n"(MAX) : "memory");
        } else {
            cp_async_wait_pending<MAX - 1>(pending);
        }
    }
}
