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
 * projector's output. On the backend the resize is one F32 matmul by the resize matrix
 * {@code [h w, R C]}, so nothing crosses to the host; a budget whose grid is the picture's own
 * keeps the projected rows as they are (PyTorch's resize to the same size is the identity).
 *
 * <p>Stateful: records each picture's resized grid, in encoding order, for the decoder stages,
 * the trace and the positions of the new rows.
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
     * {@code to}: a new F32 [to.size(), D] on the backend that the caller owns.
     */
    static Tensor resize(Backend backend, Tensor features, TokenGrid from, TokenGrid to) {
        if (features.rank() != 2 || features.dim(0) != from.size()) {
            throw new IllegalArgumentException("bilinear: expected features [" + from.size() + ", D] for a " + from
                    + " grid, got " + features);
        }
        int d = features.dim(1);
        Tensor out = backend.allocate(DType.F32, to.size(), d);
        try (Tensor hostMatrix = Tensor.of(BilinearResize.matrix(from.rows(), from.cols(), to.rows(), to.cols()), 1,
                to.size(), from.size())) {
            Tensor matrix = backend.upload(hostMatrix);
            try {
                backend.batchedMatmul(matrix, features.reshape(1, from.size(), d), false, 1f, out.reshape(1, to.size(), d));
            } finally {
                if (matrix != hostMatrix) {
                    matrix.close();
                }
            }
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
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
