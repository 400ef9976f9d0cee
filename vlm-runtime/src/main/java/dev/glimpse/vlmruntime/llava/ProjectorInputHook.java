package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.VisionTaps;
import dev.glimpse.vlmruntime.decoder.PositionMode;

/**
 * Hook point 2 of ARCHITECTURE.md: between the vision tower's selected features and the
 * projector, once per image (or per video frame fed as an image), and on the projector's output
 * ({@link #replaceProjected}). Token-pruning strategies (VTC-CLS, uniform/random/pooling
 * baselines, QuoTA budgets and its bilinear resize) implement it; the model only asks and obeys.
 * The prompt then holds one placeholder per kept token, so the decoder never sees the dropped ones;
 * {@link VisualHooks#positions} says whether the kept ones keep their unpruned prompt positions.
 *
 * <p>Only plain LLaVA images can be pruned here: LLaVA-OneVision's anyres packing and video pooling
 * need every token of the grid, so a hook that drops tokens of a OneVision input is an error.
 */
public interface ProjectorInputHook {

    /** Keeps every token: the unpruned model, bit for bit. */
    ProjectorInputHook KEEP_ALL = (imageIndex, image) -> null;

    /** Attention taps the hook needs from the vision tower (recorded during the same forward pass). */
    default VisionTaps taps() {
        return VisionTaps.NONE;
    }

    /**
     * Rows of {@code image.features()} to keep, strictly ascending; null keeps all of them.
     *
     * @param imageIndex which image of the prompt (0-based)
     * @param image      the encoded image: features, their original token indices and the taps asked for
     */
    int[] keep(int imageIndex, EncodedImage image);

    /**
     * As {@link #keep}, with the rows left on the model's backend: I32 [rows] strictly ascending
     * (a view the hook owns until {@link #release}), so the model gathers them there and the host
     * need not wait for the vision tower before the prefill is queued. Null (the default) where the
     * hook cannot, or keeps every row: the model then asks {@link #keep}. Asked instead of
     * {@link #keep} only under {@code -Dglimpse.prepare.overlap=true} with contiguous prompt
     * positions (a kept row's unpruned position would need the rows on the host).
     */
    default Tensor keepOnBackend(int imageIndex, EncodedImage image) {
        return null;
    }

    /**
     * Reads back to the host what {@link #keepOnBackend} left on the backend (what the hook reports
     * later, e.g. its selections) and frees it; the prepared prompt calls it when it closes, after
     * the prefill. Nothing by default.
     */
    default void release() {
    }

    /**
     * Features to project in place of {@code image.features()}, e.g. pooled to a smaller grid
     * (F32 [rows, features] on the model's backend, owned and closed by the caller), or null to
     * project the rows {@link #keep} returns. Asked before {@link #keep}; when it answers,
     * {@link #keep} is not called for that image.
     */
    default Tensor replace(int imageIndex, EncodedImage image) {
        return null;
    }

    /**
     * Projected features to put in the prompt in place of {@code projected}, the projector's output
     * over the rows {@link #keep} kept (F32 [rows, text hidden] on the model's backend, owned by the
     * caller), e.g. QuoTA's bilinear resize of the projected map: a new tensor on the backend that
     * the caller owns and closes, whose row count may differ; or null (the default) to keep
     * {@code projected}. Asked once per image after the projector, unless {@link #replace} answered.
     */
    default Tensor replaceProjected(int imageIndex, Tensor projected) {
        return null;
    }

    /**
     * For each row of the features {@link #replace} or {@link #replaceProjected} returned for
     * {@code imageIndex}, the row of the unpruned image ({@code image.features()} without pruning)
     * whose prompt position it takes when pruned tokens keep their original positions
     * ({@link PositionMode#ORIGINAL}): ascending, below the unpruned row count (strictly, unless
     * several new rows stand for one unpruned row, as cells of a grid resized up do); null when the
     * hook cannot say (the prompt can then only be numbered contiguously). Asked only after one of
     * them answered.
     *
     * @param rows the replacement's row count
     */
    default int[] replacementOrigins(int imageIndex, int rows) {
        return null;
    }
}
