package dev.glimpse.vlmruntime.llava;

import dev.glimpse.visionencoder.BlockPruningHook;
import dev.glimpse.vlmruntime.decoder.PositionMode;

import java.util.Objects;

/**
 * The visual-token pruning hooks of one request's visual encoding: between vision-tower blocks
 * (hook point 1 of ARCHITECTURE.md, e.g. AS-ViT) and between the tower's features and the
 * projector (hook point 2, e.g. VTC-CLS). Plain LLaVA only: LLaVA-OneVision's packing needs full
 * grids, so it takes neither (see {@link ProjectorInputHook}).
 *
 * @param visionBlocks called between encoder blocks, once per image; null for none
 * @param projector    called once per image before the projector ({@link ProjectorInputHook#KEEP_ALL}: none)
 * @param positions    the prompt's positions when the hooks drop tokens: {@link PositionMode#CONTIGUOUS}
 *                     0..T-1 over the placeholders that remain, {@link PositionMode#ORIGINAL} each token
 *                     at its position in the unpruned prompt (without pruning both are 0..T-1)
 */
public record VisualHooks(BlockPruningHook visionBlocks, ProjectorInputHook projector, PositionMode positions) {

    /** No pruning: the unpruned model, bit for bit. */
    public static final VisualHooks NONE = new VisualHooks(null, ProjectorInputHook.KEEP_ALL);

    public VisualHooks {
        Objects.requireNonNull(projector, "projector");
        Objects.requireNonNull(positions, "positions");
    }

    /** Hooks with contiguous prompt positions (VTC-CLS's reference convention). */
    public VisualHooks(BlockPruningHook visionBlocks, ProjectorInputHook projector) {
        this(visionBlocks, projector, PositionMode.CONTIGUOUS);
    }

    /** Only a pre-projector hook, contiguous prompt positions. */
    public static VisualHooks projector(ProjectorInputHook hook) {
        return new VisualHooks(null, hook);
    }

    /** These hooks with the prompt positions {@code mode}. */
    public VisualHooks withPositions(PositionMode mode) {
        return new VisualHooks(visionBlocks, projector, mode);
    }
}
