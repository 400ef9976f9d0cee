// Pointwise kernels on packed F32 activations. Activation codes are the ordinals of
// dev.glimpse.kernels.Activation: GELU_ERF, GELU_TANH, QUICK_GELU, SILU, RELU.
// Programmatic dependent launch (-Dglimpse.cuda.pdlPrefill=true, grid_dependency.cuh): the kernels a
// prefill or vision tower runs start with grid_dependency_wait().
#include "common.cuh"
#include "activation.cuh"
#include "grid_dependency.cuh"

#define GRID_STRIDE(i, n) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// Two packed 16-bit values (one 32-bit word) of pair type T2 (__nv_bfloat162, __half2) widened to F32
// exactly, and two F32 values rounded to nearest even into one word.
template <typename T2>
struct HalfPair;
template <>
struct HalfPair<__nv_bfloat162> {
    __device__ static float2 widen(unsigned int word) {
        return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&word));
    }
    __device__ static unsigned int narrow(float a, float b) {
        __nv_bfloat162 pair = __floats2bfloat162_rn(a, b);
        return *reinterpret_cast<unsigned int*>(&pair);
    }
};
template <>
struct HalfPair<__half2> {
    __device__ static float2 widen(unsigned int word) {
        return __half22float2(*reinterpret_cast<const __half2*>(&word));
    }
    __device__ static unsigned int narrow(float a, float b) {
        __half2 pair = __floats2half2_rn(a, b);
        return *reinterpret_cast<unsigned int*>(&pair);
    }
};

// The first kernel the backend launches: out[i] = i * scale. Proves module load and launch.
extern "C" __global__ void probe_iota(float* out, int n, float scale) {
    GRID_STRIDE(i, n) out[i] = (float)i * scale;
}

// out = a (op) b[i % b_count]: op 0 add, 1 multiply; b any float dtype (suffix broadcast).
extern "C" __global__ void binary_broadcast(const float* a, const void* b, int b_type, float* out,
                                            long long n, long long b_count, int op) {
    grid_dependency_wait();
    GRID_STRIDE(i, n) {
        float y = load_float(b, b_type, i % b_count);
        out[i] = op == 0 ? a[i] + y : a[i] * y;
    }
}

extern "C" __global__ void scale_f32(const float* a, float s, float* out, long long n) {
    GRID_STRIDE(i, n) out[i] = a[i] * s;
}

// Activations of F32 inputs, stored to out of out_type (F32, F16, BF16): F32 math, rounded to nearest even on store.
extern "C" __global__ void activation_f32(const float* x, void* out, int out_type, long long n, int f) {
    grid_dependency_wait();
    GRID_STRIDE(i, n) store_float(out, out_type, i, activate(f, x[i]));
}

// activation_f32 four elements per thread (n4 = n / 4; x 16-byte aligned, out 4-element aligned): one
// float4 load, one 16-byte (F32) or 8-byte (F16/BF16) store; the same values, element for element.
// out may be x (each thread reads its four values before it stores them).
extern "C" __global__ void activation_f32_v4(const float* x, void* out, int out_type, long long n4, int f) {
    grid_dependency_wait();
    GRID_STRIDE(j, n4) {
        float a[4], r[4];
        Vec4<float>::load(x, 4 * j, a);
#pragma unroll
        for (int e = 0; e < 4; e++) r[e] = activate(f, a[e]);
        store4(out, out_type, 4 * j, r);
    }
}

// Activation of 16-bit values (F16 or BF16: T, with its pair type T2) eight per thread, in place or into out of
// the same type (n8 = n / 8; x and out 16-byte aligned): one 16-byte load and one 16-byte store. Each value
// is widened exactly, activated in F32 by activate's expression and rounded to nearest even once on store:
// the bits activation_f32 stores from the widened values. out may be x (each thread reads its eight values
// before it stores them). CLIP's quick_gelu on fc1's 16-bit output under -Dglimpse.cuda.towerMlp16. The
// kernels wait for their predecessor first (grid_dependency.cuh).
template <typename T, typename T2>
__device__ __forceinline__ void activation_half_v8(const T* x, T* out, long long n8, int f) {
    GRID_STRIDE(j, n8) {
        uint4 raw = reinterpret_cast<const uint4*>(x)[j];
        unsigned int* words = reinterpret_cast<unsigned int*>(&raw);
#pragma unroll
        for (int w = 0; w < 4; w++) {
            float2 v = HalfPair<T2>::widen(words[w]);
            words[w] = HalfPair<T2>::narrow(activate(f, v.x), activate(f, v.y));
        }
        reinterpret_cast<uint4*>(out)[j] = raw;
    }
}

extern "C" __global__ void activation_bf16_v8(const __nv_bfloat16* x, __nv_bfloat16* out, long long n8, int f) {
    grid_dependency_wait();
    activation_half_v8<__nv_bfloat16, __nv_bfloat162>(x, out, n8, f);
}

extern "C" __global__ void activation_f16_v8(const __half* x, __half* out, long long n8, int f) {
    grid_dependency_wait();
    activation_half_v8<__half, __half2>(x, out, n8, f);
}

extern "C" __global__ void gated_activation_f32(const float* gate, const float* up, void* out, int out_type, long long n,
                                                int f) {
    grid_dependency_wait();
    GRID_STRIDE(i, n) store_float(out, out_type, i, activate(f, gate[i]) * up[i]);
}

// gated_activation_f32 four elements per thread (n4 = n / 4; gate and up 16-byte aligned, out 4-element
// aligned): float4 loads of gate and up, one 16-byte (F32) or 8-byte (F16/BF16) store; the same
// values, element for element.
extern "C" __global__ void gated_activation_f32_v4(const float* gate, const float* up, void* out, int out_type,
                                                   long long n4, int f) {
    grid_dependency_wait();
    GRID_STRIDE(j, n4) {
        float g[4], u[4], r[4];
        Vec4<float>::load(gate, 4 * j, g);
        Vec4<float>::load(up, 4 * j, u);
#pragma unroll
        for (int e = 0; e < 4; e++) r[e] = activate(f, g[e]) * u[e];
        store4(out, out_type, 4 * j, r);
    }
}

// One 16-bit value of type T (F16 or BF16) widened to F32 exactly, and an F32 value rounded to nearest even
// into T and widened back (the value a 16-bit tensor holds).
template <typename T>
struct HalfScalar;
template <>
struct HalfScalar<__nv_bfloat16> {
    __device__ static float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
    __device__ static __nv_bfloat16 narrow(float v) { return __float2bfloat16_rn(v); }
};
template <>
struct HalfScalar<__half> {
    __device__ static float widen(__half v) { return __half2float(v); }
    __device__ static __half narrow(float v) { return __float2half_rn(v); }
};

// HF's 16-bit gated MLP input, two packed values (one word each of gate and up): a = T(act(gate)), then
// T(a * up), every product in F32 from the widened values (torch's bf16/f16 silu and mul compute in F32
// and round their output).
template <typename T2>
__device__ __forceinline__ unsigned int gated_half_pair(unsigned int gate, unsigned int up, int f) {
    float2 g = HalfPair<T2>::widen(gate);
    float2 a = HalfPair<T2>::widen(HalfPair<T2>::narrow(activate(f, g.x), activate(f, g.y)));
    float2 u = HalfPair<T2>::widen(up);
    return HalfPair<T2>::narrow(a.x * u.x, a.y * u.y);
}

// E packed 16-bit values (E = 4 or 8) as E / 2 32-bit words: the type of one 8- or 16-byte load or store.
template <int E>
struct HalfWords;
template <>
struct HalfWords<4> {
    typedef uint2 Vec;
};
template <>
struct HalfWords<8> {
    typedef uint4 Vec;
};

// out = T(T(act(gate)) * up) on n packed 16-bit values (F16 or BF16: T, pair type T2), HF's LlamaMLP/Qwen2MLP
// rounding of act_fn(gate_proj(x)) * up_proj(x) in the model dtype (-Dglimpse.cuda.mlp16): each thread takes
// a group of E values (4 or 8: -Dglimpse.cuda.mlp16Vector), with one 8- or 16-byte load of gate and of up and
// one store where vector is set (gate, up and out aligned to 2 E bytes) and the group is whole, value by value
// otherwise (the last n % E values; every group where vector is 0). Every way gives the same bits. out may be
// gate or up. The kernels launch 256 threads a block (CudaContext.POINTWISE_THREADS) and are held to 32
// registers (__launch_bounds__(256, 8): 8 blocks, the whole SM's 2048 threads, resident; 45-48 registers
// without; no spills with on sm_90, 8 bytes on sm_80): at LLaVA's 74-row prefill the pass is latency-bound, and occupancy decides it.
template <typename T, typename T2, int E>
__device__ __forceinline__ void gated_activation_half(const T* gate, const T* up, T* out, long long n, int vector,
                                                      int f) {
    typedef typename HalfWords<E>::Vec Vec;
    GRID_STRIDE(j, (n + E - 1) / E) {
        long long first = E * j;
        if (vector && first + E <= n) {
            Vec g = reinterpret_cast<const Vec*>(gate)[j];
            Vec u = reinterpret_cast<const Vec*>(up)[j];
            Vec r;
            const unsigned int* gw = reinterpret_cast<const unsigned int*>(&g);
            const unsigned int* uw = reinterpret_cast<const unsigned int*>(&u);
            unsigned int* rw = reinterpret_cast<unsigned int*>(&r);
#pragma unroll
            for (int w = 0; w < E / 2; w++) rw[w] = gated_half_pair<T2>(gw[w], uw[w], f);
            reinterpret_cast<Vec*>(out)[j] = r;
        } else {
            long long last = first + E < n ? first + E : n;
            for (long long i = first; i < last; i++) {
                float a = HalfScalar<T>::widen(HalfScalar<T>::narrow(activate(f, HalfScalar<T>::widen(gate[i]))));
                out[i] = HalfScalar<T>::narrow(a * HalfScalar<T>::widen(up[i]));
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256, 8)
gated_activation_bf16_v4(const __nv_bfloat16* gate, const __nv_bfloat16* up, __nv_bfloat16* out, long long n, int vector, int f) {
    grid_dependency_wait();
    gated_activation_half<__nv_bfloat16, __nv_bfloat162, 4>(gate, up, out, n, vector, f);
}

extern "C" __global__ void __launch_bounds__(256, 8)
gated_activation_f16_v4(const __half* gate, const __half* up, __half* out, long long n, int vector, int f) {
    grid_dependency_wait();
    gated_activation_half<__half, __half2, 4>(gate, up, out, n, vector, f);
}

extern "C" __global__ void __launch_bounds__(256, 8)
gated_activation_bf16_v8(const __nv_bfloat16* gate, const __nv_bfloat16* up, __nv_bfloat16* out, long long n, int vector, int f) {
    grid_dependency_wait();
    gated_activation_half<__nv_bfloat16, __nv_bfloat162, 8>(gate, up, out, n, vector, f);
}

extern "C" __global__ void __launch_bounds__(256, 8)
gated_activation_f16_v8(const __half* gate, const __half* up, __half* out, long long n, int vector, int f) {
    grid_dependency_wait();
    gated_activation_half<__half, __half2, 8>(gate, up, out, n, vector, f);
}

// out[r, j] += bias[j] for a packed [rows, n] output.
extern "C" __global__ void add_bias_rows(float* out, const void* bias, int bias_type, long long total, int n) {
    grid_dependency_wait();
    GRID_STRIDE(i, total) out[i] += load_float(bias, bias_type, i % n);
}

// Packed F32 to F32/F16/BF16 (round to nearest even): GEMM inputs for half-precision weights.
extern "C" __global__ void convert_f32(const float* x, void* out, int out_type, long long n) {
    grid_dependency_wait();
    GRID_STRIDE(i, n) store_float(out, out_type, i, x[i]);
}
