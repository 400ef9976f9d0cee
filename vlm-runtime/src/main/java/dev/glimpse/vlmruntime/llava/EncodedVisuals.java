package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Projected visual features of one prompt, ready to splice, with what it took to make them.
 *
 * @param imageFeatures   F32 [sum of imageTokens, text hidden], the images' rows in prompt order; null without images
 * @param imageTokens     placeholder tokens per image (rows of {@code imageFeatures} each image owns)
 * @param imageOrigins    for each row of {@code imageFeatures}, its row in its image's unpruned features
 *                        (0..imageTokens[i]-1 without pruning); ascending within an image; null when a
 *                        hook left its kept rows on the device (contiguous positions need none)
 * @param unprunedImageTokens placeholder tokens per image without pruning
 * @param videoFeatures   F32 [videoTokens, text hidden]; null without a video
 * @param videoTokens     placeholder tokens of the video (0 without one)
 * @param towerTokens     feature rows the vision tower yields without any pruning, summed over images or frames
 * @param visualIn        vision-tower feature rows before the projector hook (after pruning inside the
 *                        tower), summed over images or frames
 * @param visualKept      rows the hook kept (equal to {@code visualIn} without pruning)
 * @param preprocessNanos image/video processor time
 * @param visionNanos     vision tower, hook, projector and OneVision packing time
 */
public record EncodedVisuals(Tensor imageFeatures, int[] imageTokens, int[] imageOrigins, int[] unprunedImageTokens,
                             Tensor videoFeatures, int videoTokens, int towerTokens, int visualIn, int visualKept,
                             long preprocessNanos, long visionNanos) implements AutoCloseable {

    public EncodedVisuals {
        imageTokens = imageTokens.clone();
        imageOrigins = imageOrigins == null ? null : imageOrigins.clone();
        unprunedImageTokens = unprunedImageTokens.clone();
        if (unprunedImageTokens.length != imageTokens.length
                || (imageOrigins != null && imageOrigins.length != Arrays.stream(imageTokens).sum())) {
            throw new IllegalArgumentException("image origins: "
                    + (imageOrigins == null ? "none" : Integer.toString(imageOrigins.length)) + " rows and "
                    + unprunedImageTokens.length + " unpruned counts for images of " + Arrays.toString(imageTokens));
        }
    }

    /** Unpruned images: each image's rows are its own rows 0..n-1. */
    static EncodedVisuals unpruned(Tensor imageFeatures, int[] imageTokens, Tensor videoFeatures, int videoTokens,
                                   int towerTokens, int visualIn, int visualKept, long preprocessNanos,
                                   long visionNanos) {
        int[] origins = Arrays.stream(imageTokens).flatMap(n -> IntStream.range(0, n))
                .toArray();
        return new EncodedVisuals(imageFeatures, imageTokens, origins, imageTokens, videoFeatures, videoTokens,
                towerTokens, visualIn, visualKept, preprocessNanos, visionNanos);
    }

    @Override
    public int[] imageTokens() {
        return imageTokens.clone();
    }

    @Override
    public int[] imageOrigins() {
        return imageOrigins == null ? null : imageOrigins.clone();
    }

    @Override
    public int[] unprunedImageTokens() {
        return unprunedImageTokens.clone();
    }

    /** Placeholder tokens of all images and the video. */
    public int totalTokens() {
        int sum = videoTokens;
        for (int n : imageTokens) {
            sum += n;
        }
        return sum;
    }

    @Override
    public void close() {
        if (imageFeatures != null) {
            imageFeatures.close();
        }
        if (videoFeatures != null) {
            videoFeatures.close();
        }
    }
}
