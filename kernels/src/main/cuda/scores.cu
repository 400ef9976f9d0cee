// Token scores from attention rows (Backend#attentionRowScores): VTC-CLS's [CLS]-attention
// ensemble and SigLIP's probe-attention mean, computed where the tower left its rows so that
// selection (topk.cu) reads them without a trip to the host.
// For row blocks rows_l [heads, width] (F32, one per layer, one shape, rows `row_stride` apart):
//   out[i] = (float) sum_l ((sum_h (double) rows_l[h, first + i]) / heads)
// summed in double, heads in order inside a layer, layers in order, rounded to F32 once: the CPU
// backend's reference (cpu/AttentionRowScores.java) operation for operation, so both give the same
// bits (no multiply, so no FMA contraction; double division and the final rounding are IEEE).
// One thread per token.
#include "common.cuh"
#include "grid_dependency.cuh"

#define MAX_SCORE_LAYERS 32

struct ScoreLayers {
    const float* rows[MAX_SCORE_LAYERS];
};

extern "C" __global__ void attention_row_scores(ScoreLayers layers, int count, int heads, long long row_stride,
                                                int first, int n, float* out) {
    grid_dependency_wait();
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double sum = 0.0;
    for (int l = 0; l < count; l++) {
        const float* column = layers.rows[l] + first + i;
        double layer = 0.0;
        for (int h = 0; h < heads; h++) layer += (double)column[(long long)h * row_stride];
        sum += layer / heads;
    }
    out[i] = (float)sum;
}
