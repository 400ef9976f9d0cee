package dev.glimpse.tokenpruning;

import dev.glimpse.tokenpruning.budget.QuotaAssignment;

/**
 * {@code bilinear}: QuoTA's within-frame reduction (PAPERS.md, QuoTA step 5, the reference's
 * default "v1"): a frame given n tokens has its projected feature map resized to the near-square
 * grid {@link QuotaAssignment#grid}{@code (n)} ({@code h = w = floor(sqrt n)}, one more row when
 * {@code (h + 1) w <= n}), so it contributes {@code h w <= n} new, interpolated tokens rather
 * than a subset of its own. 196 tokens (14 x 14) at a budget of 50 become 7 x 7 = 49.
 *
 * <p>The resize is {@code torch.nn.functional.interpolate(mode="bilinear")} with PyTorch's default
 * {@code align_corners=False} (QuoTA's {@code token_compress} passes no {@code align_corners}):
 * output cell {@code o} of an axis resized from {@code in} to {@code out} cells reads source
 * coordinate {@code (o + 1/2) in / out - 1/2}, clamped at 0, between its two neighbouring cells
 * (the upper one clamped to the last). The reference resizes the projector's output, so the
 * model applies it after the projector, per frame (hook point 2: the frame's tokens still reach
 * the decoder as one run of placeholders). Like QuoTA's v1 the share is not capped at the frame's
 * own token count: a frame given more tokens than it has is upsampled.
 *
 * <p>A feature transform, not a selection: the trace reports every cell of the resized grid as
 * kept. With original positions each resized cell takes the position of the source cell under its
 * centre ({@link #origins}; cells of a grid resized up share one).
 */
public record BilinearInterpolation() implements PruningStrategy {

    @Override
    public String name() {
        return "bilinear";
    }

    @Override
    public HookPoint hookPoint() {
        return HookPoint.PRE_PROJECTOR;
    }

    /** The grid a frame given {@code tokens} tokens is resized to ({@link QuotaAssignment#grid}). */
    public static TokenGrid grid(int tokens) {
        return QuotaAssignment.grid(tokens);
    }

    /**
     * For each cell of {@code to} in raster order, the cell of {@code from} under its centre:
     * row {@code floor((i + 1/2) from.rows / to.rows)}, column likewise. Ascending; strictly when
     * {@code to} fits inside {@code from} (a downsampling maps each axis one-to-one), while cells of
     * a grid resized up share the source cell they lie in.
     */
    public static int[] origins(TokenGrid from, TokenGrid to) {
        int[] out = new int[to.size()];
        for (int i = 0; i < to.rows(); i++) {
            int r = centre(i, from.rows(), to.rows());
            for (int j = 0; j < to.cols(); j++) {
                out[to.index(i, j)] = from.index(r, centre(j, from.cols(), to.cols()));
            }
        }
        return out;
    }

    private static int centre(int o, int in, int out) {
        return (int) (((2L * o + 1) * in) / (2L * out));
    }
}
