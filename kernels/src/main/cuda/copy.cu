// Strided copies with dtype conversion, and row gathers, for CudaBackend.copy / gatherRows /
// concat and for making non-contiguous views contiguous on the device.
#include "common.cuh"

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
    int t = blockIdx.x;
    const long long base = (long long)ids[t] * row_stride;
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        out[(long long)t * dim + d] = load_float(table, table_type, base + d);
    }
}
