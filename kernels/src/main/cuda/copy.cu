// Strided copies with dtype conversion, and row gathers, for CudaBackend.copy / gatherRows /
// concat and for making non-contiguous views contiguous on the device.
// Programmatic dependent launch (-Dglimpse.cuda.pdlPrefill=true, grid_dependency.cuh): every kernel
// starts with grid_dependency_wait().
#include "common.cuh"
#include "grid_dependency.cuh"

#define MAX_RANK 8

// Element strides of source and destination, and the logical shape. Field order is part of the
// ABI with dev.glimpse.kernels.cuda.StridedLayout.
struct StridedLayout {
    long long src_stride[MAX_RANK];
    long long dst_stride[MAX_RANK];
    int shape[MAX_RANK];
    int rank;
};

// dst[idx] = convert(src[idx']) for every logical index; idx' maps dim 0 through rows when given
// (index-select). Float to integer truncates toward zero; integer to bool is "!= 0".
extern "C" __global__ void strided_copy(const void* src, int src_type, void* dst, int dst_type,
                                        StridedLayout layout, long long count, const int* rows) {
    grid_dependency_wait();
    for (long long linear = blockIdx.x * (long long)blockDim.x + threadIdx.x; linear < count;
         linear += (long long)gridDim.x * blockDim.x) {
        long long rest = linear, so = 0, d_o = 0;
        for (int a = layout.rank - 1; a >= 0; a--) {
            long long c = rest % layout.shape[a];
            rest /= layout.shape[a];
            long long sc = (a == 0 && rows != nullptr) ? rows[c] : c;
            so += sc * layout.src_stride[a];
            d_o += c * layout.dst_stride[a];
        }
        bool sf = is_float_type(src_type), df = is_float_type(dst_type);
        if (sf && df) {
            store_float(dst, dst_type, d_o, load_float(src, src_type, so));
        } else if (!sf && !df) {
            store_int(dst, dst_type, d_o, load_int(src, src_type, so));
        } else if (sf) {
            float v = load_float(src, src_type, so);
            store_int(dst, dst_type, d_o, dst_type == DT_BOOL ? (v != 0.f) : (long long)truncf(v));
        } else {
            store_float(dst, dst_type, d_o, (float)load_int(src, src_type, so));
        }
    }
}

// out[t, :] = table[ids[t], :] as F32; table rows are row_stride elements apart, packed inside.
extern "C" __global__ void embedding_rows(const void* table, int table_type, long long row_stride,
                                          const int* ids, float* out, int tokens, int dim) {
    grid_dependency_wait();
    int t = blockIdx.x;
    const long long base = (long long)ids[t] * row_stride;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        out[(long long)t * dim + d] = load_float(table, table_type, base + d);
    }
}

// strided_copy for float dtypes when both layouts keep the last dim packed (stride 1), its extent is a
// multiple of 4, every other stride is a multiple of 4 and both bases are aligned to 4 elements: each
// thread moves 4 consecutive elements with one vector load and one vector store (Vec4 in common.cuh)
// and decomposes its index once per 4 elements. Same values as strided_copy (floats widened
// exactly, narrowed round-to-nearest-even).
template <typename S, typename D>
__device__ void strided_copy_vec4_body(const void* src, void* dst, const StridedLayout& layout, long long count,
                                       const int* rows) {
    const int last = layout.rank - 1;
    const long long vectors = count >> 2;
    for (long long linear = blockIdx.x * (long long)blockDim.x + threadIdx.x; linear < vectors;
         linear += (long long)gridDim.x * blockDim.x) {
        long long rest = linear, so = 0, d_o = 0;
        for (int a = last; a >= 0; a--) {
            int extent = a == last ? layout.shape[a] >> 2 : layout.shape[a];
            long long c = rest % extent;
            rest /= extent;
            if (a == last) c <<= 2;
            long long sc = (a == 0 && rows != nullptr) ? rows[c] : c;
            so += sc * layout.src_stride[a];
            d_o += c * layout.dst_stride[a];
        }
        float v[4];
        Vec4<S>::load(src, so, v);
        Vec4<D>::store(dst, d_o, v);
    }
}

// dtype codes as in strided_copy; only F32, F16 and BF16.
extern "C" __global__ void strided_copy_vec4(const void* src, int src_type, void* dst, int dst_type,
                                             StridedLayout layout, long long count, const int* rows) {
    grid_dependency_wait();
#define COPY_VEC4_DST(S)                                                                         \
    switch (dst_type) {                                                                          \
        case DT_F16: strided_copy_vec4_body<S, __half>(src, dst, layout, count, rows); break;      \
        case DT_BF16: strided_copy_vec4_body<S, __nv_bfloat16>(src, dst, layout, count, rows); break; \
        default: strided_copy_vec4_body<S, float>(src, dst, layout, count, rows); break;            \
    }
    switch (src_type) {
        case DT_F16: COPY_VEC4_DST(__half) break;
        case DT_BF16: COPY_VEC4_DST(__nv_bfloat16) break;
        default: COPY_VEC4_DST(float) break;
    }
#undef COPY_VEC4_DST
}
