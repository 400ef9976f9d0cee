package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;

/**
 * A token-pruning policy called between encoder blocks (AS-ViT's cascade, hook point 1 of the
 * architecture): after block {@code l} it sees that block's output and taps and says which tokens
 * enter block {@code l + 1}. Pruned tokens never come back. The hook is called once per image
 * (each image keeps its own count, as AS-ViT adapts it per image), and only between blocks that
 * run: not after the last block the request needs.
 *
 * <p>Hidden states requested for features are recorded before the hook prunes; features that
 * concatenate several layers keep only the tokens that reached the deepest selected layer.
 */
public interface BlockPruningHook {

    /** Taps this policy reads; recorded in addition to the caller's (and reported with them). */
    default VisionTaps taps() {
        return VisionTaps.NONE;
    }

    /** Which rows of {@code block.hiddenState()} go on to the next block. */
    KeepSet afterBlock(BlockOutput block);

    /**
     * What a hook sees after one block, for one image.
     *
     * @param layer       the encoder layer that just ran (from 0)
     * @param tokens      original index of each current row (see {@link LayerTaps#tokens})
     * @param hiddenState the block's output [N, hidden] F32; read it, do not keep it
     * @param taps        what was recorded at this layer, or null when nothing was asked for
     * @param hasClassToken true when row 0 is CLIP's [CLS], which the encoder always keeps
     */
    record BlockOutput(int layer, int[] tokens, Tensor hiddenState, LayerTaps taps, boolean hasClassToken) {
    }
}
