// Programmatic dependent launch (PDL, Hopper sm_90 and newer). The backend launches a kernel with
// the programmatic-stream-serialization attribute only when it is listed in GridDependency.java,
// i.e. when every one of its threads calls grid_dependency_wait() before its first access to global
// memory that an earlier launch may write (only L2 prefetches may come first: of weights, or of KV
// cache entries located by the key count, decode_online16.cu; and copies of weights into shared
// memory, decode_fused.cu's _staged kernels: no launch writes weights) and before
// any return. Such a kernel may then start while the previous kernel of the stream is still running;
// the wait returns once that kernel has completed and its writes are visible. Because every block
// waits, a kernel completes only after its predecessor has, so the order of the whole stream holds.
// grid_dependents_launch() lets the next such kernel start (its blocks run up to their own wait);
// most kernels call it right after their wait, so at most one grid waits while one runs. The _staged
// kernels under -Dglimpse.cuda.decodeWeightStaging=early (the default) call it before their wait, so
// several grids may wait at once, each as soon as its predecessor's blocks are all resident. A kernel
// then reads, after its wait, data that a launch two or more back wrote (the residual stream) while
// that launch may still have been running when this one started: this relies on the wait's
// visibility reaching back through the chain (each wait acquires what its predecessor saw, and that
// predecessor completed only after its own wait), which the PTX ISA states only for the immediate
// predecessor. CudaWeightStagingTest's 24-layer chain, eager and replayed, checks the bits on the H200.
// Without the attribute (pdl off, or a GPU before sm_90) both are no-ops; sm_80 code omits them.
//
// The prefill and vision kernels (GridDependency.PREFILL_WAITING_KERNELS, given the attribute only under
// -Dglimpse.cuda.pdlPrefill=true) make the wait their first statement. Most of them are followed by
// a cuBLASLt GEMM, launched without the attribute, so they only wait; the two that are followed by
// one of ours (rope_append_kv_rows* by the prefill attention, attention_mma_pack_* by the second
// pack or the attention) also trigger right after it. Where the trigger sits never decides what a
// dependent reads: PTX ISA, griddepcontrol: ".launch_dependents ... signals that specific dependents
// the runtime system designated to react to this instruction can be scheduled as soon as all other
// CTAs in the grid issue the same instruction or have completed", while ".wait causes the executing
// thread to wait until all prerequisite grids in flight have completed and all the memory operations
// from the prerequisite grids are performed and made visible to the current grid". A trigger only
// lets the dependent's blocks be placed (and run up to their own wait) once every block of this
// grid is resident and has triggered; so triggering at the top, before this grid's last reads of its
// inputs and its writes, is as correct as triggering at its end, and nothing waits on a block that
// is not yet resident.
#pragma once

__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void grid_dependents_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// The prologue of every PDL kernel: wait for the previous kernel, then let the next one start.
__device__ __forceinline__ void grid_dependency_enter() {
    grid_dependency_wait();
    grid_dependents_launch();
}
