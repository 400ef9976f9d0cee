package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.visionencoder.BlockPruningHook;
import dev.glimpse.visionencoder.KeepSet;
import dev.glimpse.visionencoder.VisionTaps;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Hook point 1 for one request: AS-ViT's threshold cascade ({@link AdaptiveSparseVitPolicy})
 * between the vision tower's blocks. The tower taps [CLS] attention and head-output norms at the
 * stage blocks; after each stage block the policy's kept rows go on, after other blocks all do.
 *
 * <p>The tower encodes images one at a time when a block hook runs and calls it after block 0
 * first for each image, so a call for block 0 starts the next image. Stateful: records each
 * stage's survivors per image for the trace and each image's final survivors for the decoder.
 */
final class VisionBlockPruning implements BlockPruningHook {

    private final Backend backend;
    private final AdaptiveSparseVitPolicy policy;
    private final TokenGrid grid;
    private final TreeMap<Integer, List<TokenSelection>> stages = new TreeMap<>();
    private final List<TokenSelection> survivors = new ArrayList<>();
    private int image = -1;

    VisionBlockPruning(Backend backend, AdaptiveSparseVitPolicy policy, TokenGrid grid) {
        this.backend = backend;
        this.policy = policy;
        this.grid = grid;
    }

    @Override
    public VisionTaps taps() {
        return VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION, VisionTaps.Tap.HEAD_OUTPUT_NORMS),
                policy.tapBlocks());
    }

    @Override
    public KeepSet afterBlock(BlockOutput block) {
        if (block.layer() == 0) {
            image++;
            survivors.add(TokenSelection.all(image, grid));
        }
        if (!policy.isStage(block.layer())) {
            return KeepSet.all();
        }
        AdaptiveSparseVitPolicy.Decision d = policy.decide(backend, block.layer(), block.taps().clsAttention(),
                block.taps().headOutputNorms(), block.hasClassToken());
        TokenSelection kept = d.survivors(image, grid, block.tokens());
        stages.computeIfAbsent(block.layer(), b -> new ArrayList<>()).add(kept);
        survivors.set(image, kept);
        return KeepSet.rows(d.rows());
    }

    /** Each image's patches that left the tower, in image order. */
    List<TokenSelection> survivors() {
        return List.copyOf(survivors);
    }

    /** One trace stage per stage block, in block order (adaptive: no budget). */
    List<PruningTrace.Stage> traceStages() {
        List<PruningTrace.Stage> out = new ArrayList<>();
        for (Map.Entry<Integer, List<TokenSelection>> e : stages.entrySet()) {
            out.add(PruningTrace.Stage.of(policy.name() + "@block" + e.getKey(), policy.name(), HookPoint.VISION_BLOCK,
                    e.getKey(), e.getValue(), null));
        }
        return out;
    }
}
