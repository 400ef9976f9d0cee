#pragma once
// One rotary pair (lo, hi) -> (lo * c - hi * s, hi * c + lo * s) with its FMA contraction spelled out:
// the first with lo * c exact inside the FMA and hi * s rounded, the second with lo * s exact and
// hi * c rounded. These are the forms nvcc gave decode_fused.cu's rope_append from the plain
// expressions on sm_90 (NVVM's PTX fuses the second so; on the H200, 2026-11-29, the wide kernel's
// folded rotation in these forms gave rope_append's bits, and the mirrored second form was one ulp
// off). rope_append and the folded rotation (decode_wide.cu) both call these, so they carry the same
// bits on every architecture, whatever a compiler would contract.
__device__ __forceinline__ float rope_pair_lo(float lo, float hi, float c, float s) {
    return __fmaf_rn(lo, c, -__fmul_rn(hi, s));
}

__device__ __forceinline__ float rope_pair_hi(float lo, float hi, float c, float s) {
    return __fmaf_rn(lo, s, __fmul_rn(hi, c));
}
