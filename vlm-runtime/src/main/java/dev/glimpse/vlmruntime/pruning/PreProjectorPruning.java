package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.AveragePooling;
import dev.glimpse.tokenpruning.DeviceSelection;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.TokenSelector;
import dev.glimpse.tokenpruning.VisionAttention;
import dev.glimpse.tokenpruning.VisualFrame;
import dev.glimpse.tokenpruning.VtcClsSelector;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.LayerTaps;
import dev.glimpse.visionencoder.VisionTaps;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * Hook point 2 for one request: a {@link TokenSelector} ({@code none}, {@code random},
 * {@code uniform}, {@code vtc-cls}) or {@link AveragePooling} ({@code pool}) between the vision
 * tower's features and the projector of plain LLaVA. Each image is one frame of the patch grid;
 * feature row r holds token {@code featureTokens[r]}, patch {@code token - 1} in a tower with
 * [CLS] (whose own row, present with {@code vision_feature_select_strategy "full"}, is always
 * kept). VTC-CLS reads the [CLS] rows the tower taps at {@link VtcClsSelector#clsLayers}, or the
 * SigLIP pooling head's probe attention in a tower without [CLS].
 *
 * <p>Stateful: records each image's selection, in image order, for the decoder stage and the trace.
 * A VTC-CLS selection made by {@link #keepOnBackend} stays on the device until {@link #release}
 * (or {@link #selections}, {@link #traceStage}) reads it back.
 */
final class PreProjectorPruning implements PreProjectorStage {

    private final Backend backend;
    private final TokenSelector selector;
    private final AveragePooling pool;
    private final FrameBudgets budgets;
    private final int[] frameOf;
    private final TokenGrid grid;
    private final int encoderLayers;
    private final boolean hasClassToken;
    /** In image order; null where the selection is still on the device ({@link #pending}). */
    private final List<TokenSelection> selections = new ArrayList<>();
    /** Selections left on the device, by their index in {@link #selections}. */
    private final Map<Integer, DeviceSelection> pending = new TreeMap<>();

    /**
     * @param selector      the selector, or null with {@code pool}
     * @param pool          pooling, or null with a selector
     * @param budgets       tokens per image or frame of the request (unused by pooling)
     * @param frameOf       the frame (index into {@code budgets}) of each encoded image: frames with a
     *                      budget of 0 are not encoded, so image i is frame {@code frameOf[i]}
     * @param grid          the tower's patch grid
     * @param encoderLayers layers of the tower
     * @param hasClassToken whether token 0 is [CLS]
     */
    PreProjectorPruning(Backend backend, TokenSelector selector, AveragePooling pool, FrameBudgets budgets,
                        int[] frameOf, TokenGrid grid, int encoderLayers, boolean hasClassToken) {
        this.backend = backend;
        this.selector = selector;
        this.pool = pool;
        this.budgets = budgets;
        this.frameOf = frameOf.clone();
        this.grid = grid;
        this.encoderLayers = encoderLayers;
        this.hasClassToken = hasClassToken;
    }

    @Override
    public VisionTaps taps() {
        if (!(selector instanceof VtcClsSelector vtc)) {
            return VisionTaps.NONE;
        }
        return hasClassToken ? VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), vtc.clsLayers(encoderLayers))
                : VisionTaps.of(EnumSet.of(VisionTaps.Tap.PROBE_ATTENTION));
    }

    @Override
    public Tensor replace(int imageIndex, EncodedImage image) {
        if (pool == null) {
            return null;
        }
        if (image.features().dim(0) != grid.size()) {
            throw new IllegalArgumentException("pool averages the " + grid + " patch grid, but the tower hands the "
                    + "projector " + image.features().dim(0) + " rows per image (vision_feature_select_strategy "
                    + "'full' keeps [CLS]); pool needs the patch rows only");
        }
        AveragePooling.PooledFeatures pooled = pool.pool(backend, image.features(), grid);
        selections.add(TokenSelection.all(imageIndex, pooled.grid()));
        return pooled.features();
    }

    /**
     * A pooled cell takes the position of the first patch of its 2x2 window (its top-left cell, in
     * raster order), so the pooled grid keeps the unpruned grid's row stride.
     */
    @Override
    public int[] replacementOrigins(int imageIndex, int rows) {
        TokenGrid pooled = AveragePooling.pooledGrid(grid);
        if (rows != pooled.size()) {
            throw new IllegalStateException("pool made " + rows + " rows for image " + (imageIndex + 1) + ", its "
                    + pooled + " grid has " + pooled.size());
        }
        int[] origins = new int[rows];
        for (int i = 0; i < pooled.rows(); i++) {
            for (int j = 0; j < pooled.cols(); j++) {
                origins[pooled.index(i, j)] = grid.index(2 * i, 2 * j);
            }
        }
        return origins;
    }

    @Override
    public int[] keep(int imageIndex, EncodedImage image) {
        int frame = frameOf[imageIndex];
        int budget = budgets.tokensFor(frame);
        if (budget == 0) {
            throw new IllegalArgumentException("--budget leaves image " + (imageIndex + 1) + " no tokens; give every "
                    + "image or frame at least one (a video total of at least one token per frame)");
        }
        TokenSelection selection = selector.select(backend, new VisualFrame(frame, grid, attention(image)), budget);
        selections.add(selection);
        if (selection.keepsAll()) {
            return null;
        }
        boolean[] keptCell = new boolean[grid.size()];
        for (int t : selection.kept()) {
            keptCell[t] = true;
        }
        int[] tokens = image.featureTokens();
        return IntStream.range(0, tokens.length).filter(r -> {
            int cell = tokens[r] - (hasClassToken ? 1 : 0);
            return cell < 0 || keptCell[cell];
        }).toArray();
    }

    /**
     * The rows VTC-CLS keeps, selected on the device and left there, when the feature rows are the
     * grid's cells in raster order ({@code vision_feature_select_strategy "default"}, no pruning
     * inside the tower), so a cell index is its row; else null ({@link #keep} then selects).
     */
    @Override
    public Tensor keepOnBackend(int imageIndex, EncodedImage image) {
        int budget = budgets.tokensFor(frameOf[imageIndex]);
        if (!(selector instanceof VtcClsSelector vtc) || budget == 0 || !rowsAreCells(image)) {
            return null;
        }
        DeviceSelection selection = vtc.selectOnBackend(backend,
                new VisualFrame(frameOf[imageIndex], grid, attention(image)), budget);
        if (selection == null) {
            return null;
        }
        pending.put(selections.size(), selection);
        selections.add(null);
        return selection.kept();
    }

    /** Reads back the selections {@link #keepOnBackend} left on the device and frees them. */
    @Override
    public void release() {
        for (Map.Entry<Integer, DeviceSelection> e : pending.entrySet()) {
            try (DeviceSelection selection = e.getValue()) {
                selections.set(e.getKey(), selection.readBack(backend));
            }
        }
        pending.clear();
    }

    /** What each image kept, in image order (over the original grid, or all of the pooled grid). */
    @Override
    public List<TokenSelection> selections() {
        release();
        return List.copyOf(selections);
    }

    /** Whether feature row r is grid cell r: every cell, in raster order, and no [CLS] row. */
    private boolean rowsAreCells(EncodedImage image) {
        int[] tokens = image.featureTokens();
        int first = hasClassToken ? 1 : 0;
        if (tokens.length != grid.size()) {
            return false;
        }
        for (int r = 0; r < tokens.length; r++) {
            if (tokens[r] != r + first) {
                return false;
            }
        }
        return true;
    }

    /** The trace stage of this request's selections. */
    @Override
    public PruningTrace.Stage traceStage() {
        release();
        if (selector != null) {
            List<TokenSelection> all = new ArrayList<>(selections);
            for (int dropped : budgets.droppedFrames()) {
                all.add(new TokenSelection(dropped, grid, new int[0], null));
            }
            all.sort(java.util.Comparator.comparingInt(TokenSelection::frame));
            return selector.traceStage(all, budgets);
        }
        return PruningTrace.Stage.of(pool.name(), pool.name(), HookPoint.PRE_PROJECTOR, null, selections, null);
    }

    private VisionAttention attention(EncodedImage image) {
        if (!(selector instanceof VtcClsSelector)) {
            return null;
        }
        if (!hasClassToken) {
            return VisionAttention.ofProbe(encoderLayers, image.probeAttention());
        }
        TreeMap<Integer, Tensor> rows = new TreeMap<>();
        for (Map.Entry<Integer, LayerTaps> e : image.taps().entrySet()) {
            if (e.getValue().clsAttention() != null) {
                rows.put(e.getKey(), e.getValue().clsAttention());
            }
        }
        return VisionAttention.ofClsRows(encoderLayers, rows);
    }
}
