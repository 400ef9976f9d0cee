package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;

/**
 * One linear layer fed by a shared input in a fused decode op: {@code out = x w^T + bias}.
 *
 * @param w    [n, k] weights (F16/BF16 to fuse; other dtypes take the unfused composition)
 * @param bias [n] or null
 * @param out  F32 packed, the input's shape with the last dim n
 */
public record LinearTarget(Tensor w, Tensor bias, Tensor out) {
}
