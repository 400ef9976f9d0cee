package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;

/**
 * Views of a session's scratch buffers for a block of {@code n} rows (tokens): everything one
 * decoder layer needs between reading its input and writing its output. Shapes are {@code [n, ..]}.
 *
 * @param normed    [n, hidden] RMSNorm output (input of attention, then of the MLP); F32, or the
 *                  weights' F16/BF16 where {@link DecoderScratch} hands out 16-bit GEMM inputs
 * @param q         [n, heads * headDim]
 * @param k         [n, kvHeads * headDim]
 * @param v         [n, kvHeads * headDim]
 * @param attention [n, heads * headDim] attention output before {@code o_proj}
 * @param projected [n, hidden] output of {@code o_proj} where it does not add the residual itself (the fused
 *                  prefill ops' {@code o_proj} and {@code down_proj} add into the residual stream)
 * @param residual  [n, hidden] the residual stream after attention
 * @param gate      [n, intermediate]
 * @param up        [n, intermediate]
 * @param activated [n, intermediate] act(gate) * up; F32 or 16-bit as {@code normed}
 * @param qkv       [3, n, heads * headDim]: q, k, v stacked (the same memory), when q is as wide as
 *                  k and v; else null
 * @param kv        [2, n, kvHeads * headDim]: k, v stacked (the same memory)
 * @param gateUp    [2, n, intermediate]: gate, up stacked (the same memory)
 * @param attentionHalf [n, heads * headDim] the attention output as o_proj's 16-bit GEMM input
 *                  ({@code -Dglimpse.cuda.attentionHalfOutput}), in the 16-bit {@code activated}'s memory,
 *                  which is free from the end of one MLP to the next; null where {@code activated} is F32
 *                  or narrower than heads * headDim
 * @param gateUpHalf [2, n, intermediate]: gate, up stacked in the 16-bit dtype of {@code activated}, HF's
 *                  rounded {@code gate_proj} and {@code up_proj} outputs ({@code -Dglimpse.cuda.mlp16}), in the
 *                  memory of {@code gateUp} (the F32 views are unused when these are); null where
 *                  {@code activated} is F32
 */
record ScratchRows(int n, Tensor normed, Tensor q, Tensor k, Tensor v, Tensor attention, Tensor projected,
                   Tensor residual, Tensor gate, Tensor up, Tensor activated, Tensor qkv, Tensor kv, Tensor gateUp,
                   Tensor attentionHalf, Tensor gateUpHalf) {
}
