package dev.glimpse.vlmruntime.llava;

import dev.glimpse.visionencoder.BlockPruningHook;

import java.util.Objects;

/**
 * The visual-token pruning hooks of one request's visual encoding: between vision-tower blocks
 * (hook point 1 of ARCHITECTURE.md, e.g. AS-ViT) and between the tower's features and the
 * projector (hook point 2, e.g. VTC-CLS). Plain LLaVA only: LLaVA-OneVision's packing needs full
 * grids, so it takes neither (see {@link ProjectorInputHook}).
 *
 * @param visionBlocks called between encoder blocks, once per image; null for none
 * @param projector    called once per image before the projector ({@link ProjectorInputHook#KEEP_ALL}: none)
 */
public record VisualHooks(BlockPruningHook visionBlocks, ProjectorInputHook projector) {

    /** No pruning: the unpruned model, bit for bit. */
    public static final VisualHooks NONE = new VisualHooks(null, ProjectorInputHook.KEEP_ALL);

    public VisualHooks {
        Objects.requireNonNull(projector, "projector");
    }

    /** Only a pre-projector hook. */
    public static VisualHooks projector(ProjectorInputHook hook) {
        return new VisualHooks(null, hook);
    }
}
