package dev.glimpse.vlmruntime.llava;

import dev.glimpse.visionencoder.preprocess.AnyResGeometry;
import dev.glimpse.visionencoder.preprocess.Resolution;

import java.util.List;

/**
 * How many placeholder tokens the HF processors put in the prompt for one image or video, as
 * their {@code replace_image_token} / {@code replace_video_token} compute it. The model's features
 * must then number the same (HF raises "Image features and image tokens do not match" otherwise).
 */
public final class PlaceholderCounts {

    private PlaceholderCounts() {
    }

    /**
     * {@code LlavaProcessor.replace_image_token}: {@code (height // patch_size) * (width // patch_size)
     * + num_additional_image_tokens}, less one with the {@code default} strategy, where height and
     * width are those of the processed {@code pixel_values}.
     */
    public static int llavaImage(LlavaProcessorConfig processor, int pixelHeight, int pixelWidth) {
        int n = (pixelHeight / processor.patchSize()) * (pixelWidth / processor.patchSize())
                + processor.numAdditionalImageTokens();
        return processor.dropsFirstToken() ? n - 1 : n;
    }

    /**
     * {@code LlavaOnevisionProcessor._get_number_of_features} for a single-image prompt: base
     * features ({@code num_image_tokens}) plus the unpadded anyres grid and one newline per grid row,
     * the grid shrunk as {@code _get_unpadded_features} does when it exceeds {@code anyres_max_N};
     * less one with the {@code default} strategy.
     *
     * @param original  the image's (height, width) before processing
     * @param tileSize  (height, width) of the processed tiles ({@code pixel_values[0][0].shape[-2:]})
     * @param pinpoints {@code image_grid_pinpoints} of the image processor
     */
    public static int onevisionImage(LlavaProcessorConfig processor, Resolution original, Resolution tileSize,
                                     List<Resolution> pinpoints) {
        Resolution best = AnyResGeometry.selectBestResolution(original, pinpoints);
        int scaleHeight = best.height() / tileSize.height();
        int scaleWidth = best.width() / tileSize.width();
        int side = (int) Math.sqrt(processor.numImageTokens());
        int currentHeight = side * scaleHeight;
        int currentWidth = side * scaleWidth;
        int height = original.height();
        int width = original.width();
        double originalAspect = (double) width / height;
        double currentAspect = (double) currentWidth / currentHeight;
        if (originalAspect > currentAspect) {
            int newHeight = (int) roundTo7(height * ((double) currentWidth / width));
            currentHeight -= ((currentHeight - newHeight) / 2) * 2;
        } else {
            int newWidth = (int) roundTo7(width * ((double) currentHeight / height));
            currentWidth -= ((currentWidth - newWidth) / 2) * 2;
        }
        int unpadded = currentHeight * currentWidth;
        int newlines = currentHeight;
        double ratio = Math.sqrt((double) currentHeight * currentWidth / (processor.maxNumPatches() * (double) side * side));
        if (ratio > 1.1) {
            unpadded = (int) Math.floor(currentHeight / ratio) * (int) Math.floor(currentWidth / ratio);
            newlines = (int) Math.floor(currentHeight / ratio);
        }
        int n = unpadded + newlines + processor.numImageTokens();
        return processor.dropsFirstToken() ? n - 1 : n;
    }

    /** OneVision, one image of a multi-image prompt: {@code num_image_tokens + 1} (the newline), less one with {@code default}. */
    public static int onevisionMultiImage(LlavaProcessorConfig processor) {
        int n = processor.numImageTokens() + 1;
        return processor.dropsFirstToken() ? n - 1 : n;
    }

    /**
     * {@code LlavaOnevisionProcessor.replace_video_token}: {@code frames * ceil(sqrt(num_image_tokens) / 2)^2 + 1}
     * (2x2-pooled frames, one newline after the last).
     */
    public static int onevisionVideo(LlavaProcessorConfig processor, int frames) {
        int side = (int) Math.sqrt(processor.numImageTokens());
        int pooled = (side + 1) / 2;
        return frames * pooled * pooled + 1;
    }

    /** Python's {@code round(x, 7)} for the non-negative values used here (half to even on the 7th decimal). */
    static double roundTo7(double x) {
        return new java.math.BigDecimal(x).setScale(7, java.math.RoundingMode.HALF_EVEN).doubleValue();
    }
}
