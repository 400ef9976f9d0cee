package dev.glimpse.vlmruntime.decoder;

/**
 * Rotary positions of the tokens that survive pruning inside the decoder, in the layers above the
 * pruning point, and of every token appended afterwards.
 */
public enum PositionMode {
    /**
     * Kept tokens keep the positions they were given; generated tokens continue after the last
     * position of the prompt, in every layer, as if nothing had been pruned. The convention of
     * TensorRT-Edge-LLM and of the FastV-derived code bases we read ({@code position_ids =
     * keep_indexs}). The default: pruning then changes which keys a query sees but never the
     * relative distances between the tokens that remain.
     */
    ORIGINAL,
    /**
     * Each layer sees its own tokens as a gap-free sequence: a kept token's position drops by the
     * number of pruned tokens before it, and a generated token's position at layer l is the
     * prompt's next position minus the tokens pruned below l. The "re-indexed" reading of FastV.
     */
    CONTIGUOUS
}
