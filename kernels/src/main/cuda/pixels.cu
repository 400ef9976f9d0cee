// A vision encoder's pixel_values from 8-bit RGB (PixelNormalization, Backend#normalizePixels): rgb
// [n, h, w, 3] bytes (rows of interleaved R, G, B) into out [n, 3, H, W] F32 (H >= h, W >= w), each value
// as transformers' numpy code computes it and PixelNormalization#value spells it in Java:
//   x = rescale ? float32(float64(v) * factor) : float32(v);   out = normalize ? (x - mean[c]) / std[c] : x
// with IEEE round-to-nearest operations written out (no contraction can apply: one product, then a
// difference and a quotient), and 0 in the padding at the bottom and right. So the uploaded bytes give the
// host processor's bits. One thread per output pixel (all three channels), grid-stride; not a PDL kernel.
#include "common.cuh"

__device__ __forceinline__ float pixel_value(unsigned int v, int rescale, double factor, int normalize, float mean,
                                             float stdv) {
    float x = rescale ? __double2float_rn(__dmul_rn((double)v, factor)) : (float)v;
    return normalize ? __fdiv_rn(__fsub_rn(x, mean), stdv) : x;
}

extern "C" __global__ void normalize_pixels_u8(const unsigned char* __restrict__ rgb, float* __restrict__ out, int n,
                                               int h, int w, int plane_h, int plane_w, int rescale, double factor,
                                               int normalize, float m0, float m1, float m2, float s0, float s1,
                                               float s2) {
    const long long plane = (long long)plane_h * plane_w;
    const long long total = (long long)n * plane;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        const long long img = i / plane;
        const long long at = i - img * plane;
        const int y = (int)(at / plane_w);
        const int x = (int)(at - (long long)y * plane_w);
        float r = 0.f, g = 0.f, b = 0.f;
        if (y < h && x < w) {
            const unsigned char* px = rgb + ((img * h + y) * w + x) * 3;
            r = pixel_value(px[0], rescale, factor, normalize, m0, s0);
            g = pixel_value(px[1], rescale, factor, normalize, m1, s1);
            b = pixel_value(px[2], rescale, factor, normalize, m2, s2);
        }
        float* o = out + img * 3 * plane + at;
        o[0] = r;
        o[plane] = g;
        o[2 * plane] = b;
    }
}
