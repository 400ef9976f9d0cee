// Activation functions by code: the ordinals of dev.glimpse.kernels.Activation
// (GELU_ERF, GELU_TANH, QUICK_GELU, SILU, RELU). F32 math, shared by elementwise.cu and decode_fused.cu.
#pragma once

__device__ __forceinline__ float activate(int f, float x) {
    switch (f) {
        case 0: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
        case 1: {
            float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
            return 0.5f * x * (1.f + tanhf(inner));
        }
        case 2: return x / (1.f + expf(-1.702f * x));
        case 3: return x / (1.f + expf(-x));
        default: return isnan(x) ? x : fmaxf(x, 0.f);
    }
}
