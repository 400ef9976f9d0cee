package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.BilinearInterpolation;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.budget.FrameBudgets;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.vlmruntime.llava.BilinearResize;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@link BilinearInterpolation} ({@code bilinear}, QuoTA's within-frame default) for one request:
 * every feature row of a picture goes through the projector, then the projected map of its
 * patch grid is resized to {@link BilinearInterpolation#grid} of the picture's budget with
 * {@link BilinearResize} ({@code align_corners=False}), as QuoTA's reference resizes the
 * projector's output. The resize runs on the backend as two F32 matmuls ({@link #resize}), so
 * nothing crosses to the host; a budget whose grid is the picture's own
 * keeps the projected rows as they are (PyTorch's resize to the same size is the identity).
 *
 * <p>Stateful: records each picture's resized grid, in encoding order, for the decoder stages,
 * the trace and the positions of the new rows (under original positions, each takes the position of
 * the patch under its centre, {@link BilinearInterpolation#origins}).
 */
final class BilinearFrameResize implements PreProjectorStage {

    private final Backend backend;
    private final FrameBudgets budgets;
    private final int[] frameOf;
    private final TokenGrid grid;
    private final List<TokenSelection> selections = new ArrayList<>();

    /**
     * @param budgets tokens per frame (or image) of the request; a frame's share may exceed its grid (upsampling)
     * @param frameOf the frame (index into {@code budgets}) of each encoded picture: frames with a
     *                budget of 0 are not encoded, so picture i is frame {@code frameOf[i]}
     * @param grid    the tower's patch grid
     */
    BilinearFrameResize(Backend backend, FrameBudgets budgets, int[] frameOf, TokenGrid grid) {
        this.backend = backend;
        this.budgets = budgets;
        this.frameOf = frameOf.clone();
        this.grid = grid;
    }

    /** Keeps every row for the projector, once sure the rows are the patch grid (no [CLS] row). */
    @Override
    public int[] keep(int imageIndex, EncodedImage image) {
        if (image.features().dim(0) != grid.size()) {
            throw new IllegalArgumentException("bilinear resizes the " + grid + " patch grid, but the tower hands the "
                    + "projector " + image.features().dim(0) + " rows per image (vision_feature_select_strategy "
                    + "'full' keeps [CLS]); bilinear needs the patch rows only");
        }
        if (budgets.tokensFor(frameOf[imageIndex]) == 0) {
            throw new IllegalArgumentException("--budget leaves image " + (imageIndex + 1) + " no tokens; give every "
                    + "image or frame at least one (a video total of at least one token per frame)");
        }
        return null;
    }

    @Override
    public Tensor replaceProjected(int imageIndex, Tensor projected) {
        int frame = frameOf[imageIndex];
        TokenGrid target = BilinearInterpolation.grid(budgets.tokensFor(frame));
        selections.add(TokenSelection.all(frame, target));
        return target.equals(grid) ? null : resize(backend, projected, grid, target);
    }

    @Override
    public int[] replacementOrigins(int imageIndex, int rows) {
        TokenGrid target = selections.get(imageIndex).grid();
        if (rows != target.size()) {
            throw new IllegalStateException("bilinear made " + rows + " rows for image " + (imageIndex + 1) + ", its "
                    + target + " grid has " + target.size());
        }
        return BilinearInterpolation.origins(grid, target);
    }

    /**
     * {@code features} [from.size(), D] (F32 on the backend, rows in raster order) resized to
     * {@code to}: a new F32 [to.size(), D] on the backend that the caller owns. Separably, as two
     * F32 matmuls by {@link BilinearResize}'s one-axis weights: the rows first ({@code [h, R]} times
     * the map as {@code [R, C D]}), then each of the h new rows' columns ({@code [w, C]} times
     * {@code [C, D]}, batched over the rows). Bilinear weights are products of the two axes', so
     * this is the same resize with the sums in another order (equal to rounding); the weights take
     * {@code h R + h w C} floats, never the {@code h w R C} of the whole resize matrix.
     */
    static Tensor resize(Backend backend, Tensor features, TokenGrid from, TokenGrid to) {
        if (features.rank() != 2 || features.dim(0) != from.size()) {
            throw new IllegalArgumentException("bilinear: expected features [" + from.size() + ", D] for a " + from
                    + " grid, got " + features);
        }
        int d = features.dim(1);
        int h = to.rows();
        int w = to.cols();
        float[] columnWeights = BilinearResize.matrix(1, from.cols(), 1, w);
        float[] perRow = new float[h * columnWeights.length];
        for (int i = 0; i < h; i++) {
            System.arraycopy(columnWeights, 0, perRow, i * columnWeights.length, columnWeights.length);
        }
        Tensor out = backend.allocate(DType.F32, to.size(), d);
        try (Tensor rowsResized = backend.allocate(DType.F32, h, from.cols() * d);
             Tensor rowWeights = onBackend(backend, BilinearResize.matrix(from.rows(), 1, h, 1), 1, h, from.rows());
             Tensor colWeights = onBackend(backend, perRow, h, w, from.cols())) {
            backend.batchedMatmul(rowWeights, features.reshape(1, from.rows(), from.cols() * d), false, 1f,
                    rowsResized.reshape(1, h, from.cols() * d));
            backend.batchedMatmul(colWeights, rowsResized.reshape(h, from.cols(), d), false, 1f, out.reshape(h, w, d));
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** {@code values} as {@code shape} on the backend, owned by the caller. */
    private static Tensor onBackend(Backend backend, float[] values, int... shape) {
        Tensor host = Tensor.of(values, shape);
        Tensor device = backend.upload(host);
        if (device != host) {
            host.close();
        }
        return device;
    }

    @Override
    public List<TokenSelection> selections() {
        return List.copyOf(selections);
    }

    /** Every resized grid with its frame's budget; frames the allocation dropped appear with nothing kept. */
    @Override
    public PruningTrace.Stage traceStage() {
        List<TokenSelection> all = new ArrayList<>(selections);
        for (int dropped : budgets.droppedFrames()) {
            all.add(new TokenSelection(dropped, grid, new int[0], null));
        }
        all.sort(Comparator.comparingInt(TokenSelection::frame));
        int[] perFrame = all.stream().mapToInt(s -> budgets.tokensFor(s.frame())).toArray();
        String name = new BilinearInterpolation().name();
        return PruningTrace.Stage.of(name, name, HookPoint.PRE_PROJECTOR, null, all, perFrame);
    }
}
