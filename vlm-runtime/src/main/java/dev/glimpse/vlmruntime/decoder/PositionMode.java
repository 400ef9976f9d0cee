package dev.glimpse.vlmruntime.decoder;

import java.util.Locale;

/**
 * Rotary positions of the visual tokens that survive pruning, and of every token after them.
 *
 * <p>Inside the decoder (FastV, SpAtten, ATP; {@link SessionOptions#positionMode}) it decides the
 * positions of the kept tokens in the layers above the pruning point. Before the LLM (VTC-CLS,
 * random, uniform, pool, AS-ViT: the pruned tokens never get a placeholder in the prompt) it
 * decides the prompt's {@code position_ids}: a gap-free sequence over the placeholders that remain,
 * or each kept token at the position it has in the unpruned prompt.
 */
public enum PositionMode {
    /**
     * Kept tokens keep the positions they were given (before the LLM: the positions of the
     * unpruned prompt, with gaps where pruned tokens were, the text after the image at the unpruned
     * prompt's positions); generated tokens continue after the last position of the prompt, in
     * every layer, as if nothing had been pruned. The convention of TensorRT-Edge-LLM and of the
     * FastV-derived code bases we read ({@code position_ids = keep_indexs}). The default inside the
     * decoder: pruning then changes which keys a query sees but never the relative distances
     * between the tokens that remain.
     */
    ORIGINAL,
    /**
     * Each layer sees its own tokens as a gap-free sequence: a kept token's position drops by the
     * number of pruned tokens before it, and a generated token's position at layer l is the
     * prompt's next position minus the tokens pruned below l. The "re-indexed" reading of FastV,
     * and what VTC-CLS's reference code does before the LLM (pruned placeholders are removed from
     * the prompt, whose positions stay 0..T-1): the default before the LLM.
     */
    CONTIGUOUS;

    /** The command-line spelling: {@code original} or {@code contiguous}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The mode {@code text} names ({@code original} or {@code contiguous}, any case).
     *
     * @throws IllegalArgumentException naming the choices when {@code text} is neither
     */
    public static PositionMode parse(String text) {
        for (PositionMode m : values()) {
            if (m.key().equalsIgnoreCase(text.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException("--positions takes original or contiguous, got '" + text + "'");
    }
}
