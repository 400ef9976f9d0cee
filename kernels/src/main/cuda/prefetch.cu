// L2 prefetches of a byte range ahead of the kernel that will read it: a small-row decoder prefill
// streams each GEMM's weights from HBM once, and between two GEMMs its small kernels (RMSNorm, RoPE
// with the cache append, attention, the gated activation) leave the HBM idle; a prefetch of the next
// GEMM's first weights, launched on a side stream while those run, lets that GEMM find them in L2
// (CudaL2Prefetch). A prefetch changes no value: these kernels write nothing.
//
// Both use the normal eviction priority: the GEMM reads the lines within microseconds, and lines kept
// with evict_last would outlive that read and crowd out the GEMM's own operands.

// One prefetch.global.L2 per 128-byte line of [base, base + bytes), grid-stride over the launch.
__device__ __forceinline__ void prefetch_lines(const char* base, long long bytes) {
    long long lines = (bytes + 127) / 128;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < lines; i += stride) {
        asm volatile("prefetch.global.L2 [%0];" ::"l"(__cvta_generic_to_global(base + i * 128)));
    }
}

// The range line by line (sm_80+).
extern "C" __global__ void l2_prefetch_lines(const char* base, long long bytes) {
    prefetch_lines(base, bytes);
}

// The same range in chunks of `chunk` bytes, one cp.async.bulk.prefetch.L2 each (the copy engine walks
// the chunk; sm_90+). base 16-byte aligned, bytes and chunk multiples of 16 (the instruction's rule).
// Compiled for sm_80 it prefetches line by line as l2_prefetch_lines.
extern "C" __global__ void l2_prefetch_bulk(const char* base, long long bytes, int chunk) {
#if __CUDA_ARCH__ >= 900
    long long chunks = (bytes + chunk - 1) / chunk;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < chunks; i += stride) {
        long long offset = i * chunk;
        unsigned size = (unsigned)(bytes - offset < chunk ? bytes - offset : chunk);
        asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(__cvta_generic_to_global(base + offset)),
                     "r"(size)
                     : "memory");
    }
#else
    prefetch_lines(base, bytes);
#endif
}
