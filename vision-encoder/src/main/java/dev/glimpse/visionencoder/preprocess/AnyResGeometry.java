package dev.glimpse.visionencoder.preprocess;

import java.util.List;

/**
 * The anyres geometry of LLaVA-NeXT / LLaVA-OneVision as transformers computes it
 * ({@code image_processing_utils.select_best_resolution} and {@code get_patch_output_size}).
 * The model side uses the same selection to lay out image features, so it is public.
 */
public final class AnyResGeometry {

    private AnyResGeometry() {
    }

    /**
     * The candidate that keeps the most of the image's pixels after fitting it inside (the
     * "effective resolution", capped at the original pixel count) and, on a tie, wastes the fewest;
     * the first candidate wins remaining ties.
     */
    public static Resolution selectBestResolution(Resolution original, List<Resolution> candidates) {
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("no candidate resolutions (image_grid_pinpoints is empty)");
        }
        int oh = original.height();
        int ow = original.width();
        Resolution best = null;
        long maxEffective = 0;
        double minWasted = Double.POSITIVE_INFINITY;
        for (Resolution c : candidates) {
            double scale = Math.min((double) c.width() / ow, (double) c.height() / oh);
            long downW = (long) (ow * scale);
            long downH = (long) (oh * scale);
            long effective = Math.min(downW * downH, (long) ow * oh);
            long wasted = (long) c.width() * c.height() - effective;
            if (effective > maxEffective || (effective == maxEffective && wasted < minWasted)) {
                maxEffective = effective;
                minWasted = wasted;
                best = c;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("no candidate resolution fits any pixel of a " + oh + "x" + ow + " image");
        }
        return best;
    }

    /**
     * The size the image is resized to inside {@code target}, keeping its aspect ratio: the
     * tighter side matches the target, the other is {@code min(ceil(side * scale), target side)}.
     */
    public static Resolution patchOutputSize(Resolution image, Resolution target) {
        double scaleW = (double) target.width() / image.width();
        double scaleH = (double) target.height() / image.height();
        if (scaleW < scaleH) {
            int h = (int) Math.min((long) Math.ceil(image.height() * scaleW), target.height());
            return new Resolution(h, target.width());
        }
        int w = (int) Math.min((long) Math.ceil(image.width() * scaleH), target.width());
        return new Resolution(target.height(), w);
    }
}
