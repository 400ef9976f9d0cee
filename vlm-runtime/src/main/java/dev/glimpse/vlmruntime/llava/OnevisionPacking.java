package dev.glimpse.vlmruntime.llava;

import dev.glimpse.visionencoder.preprocess.AnyResGeometry;
import dev.glimpse.visionencoder.preprocess.Resolution;

import java.util.List;

/**
 * How LLaVA-OneVision lays out projected visual features before splicing them into the prompt
 * ({@code LlavaOnevisionModel.pack_image_features}, {@code apply_pooling} and the video branch of
 * {@code forward} in {@code modeling_llava_onevision.py}). Features are host float arrays,
 * token-major: {@code [tiles or frames][tokens per tile][dim]} flattened.
 */
public final class OnevisionPacking {

    private OnevisionPacking() {
    }

    /**
     * One anyres image: {@code features} holds {@code 1 + rows*cols} tiles of {@code side*side}
     * tokens (the base image first). The tiles are reassembled into one grid
     * (view, permute), the padding the processor added is cut off ({@code unpad_image}), the grid is
     * shrunk bilinearly when {@code sqrt(h*w / (maxPatches * side^2)) > 1.1}, a newline column
     * ({@code image_newline}) is appended to every row, and the base image's tokens go first.
     * With a single tile (multi-image prompts), the result is that tile plus one newline.
     *
     * @param imageSize  the image's (height, width) before processing
     * @param pinpoints  {@code image_grid_pinpoints} of config.json
     * @param tilePixels {@code vision_config.image_size}
     * @return [tokens, dim] flattened
     */
    public static float[] packImage(float[] features, int tiles, int side, int dim, Resolution imageSize,
                                    List<Resolution> pinpoints, int tilePixels, int maxPatches, float[] newline) {
        int perTile = side * side;
        if (features.length != (long) tiles * perTile * dim) {
            throw new IllegalArgumentException(tiles + " tiles of " + perTile + "x" + dim + " features expected, got "
                    + features.length + " values");
        }
        if (tiles == 1) {
            float[] out = new float[(perTile + 1) * dim];
            System.arraycopy(features, 0, out, 0, perTile * dim);
            System.arraycopy(newline, 0, out, perTile * dim, dim);
            return out;
        }
        Resolution best = AnyResGeometry.selectBestResolution(imageSize, pinpoints);
        int gridRows = best.height() / tilePixels;
        int gridCols = best.width() / tilePixels;
        if (gridRows * gridCols != tiles - 1) {
            throw new IllegalArgumentException("the anyres grid of a " + imageSize.height() + "x" + imageSize.width()
                    + " image is " + gridRows + "x" + gridCols + " tiles, but " + (tiles - 1) + " were encoded");
        }
        int height = gridRows * side;
        int width = gridCols * side;
        float[] grid = new float[height * width * dim];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int tile = 1 + (y / side) * gridCols + (x / side);
                int token = (y % side) * side + (x % side);
                System.arraycopy(features, (tile * perTile + token) * dim, grid, (y * width + x) * dim, dim);
            }
        }
        int[] crop = unpadCrop(height, width, imageSize);
        int top = crop[0];
        int left = crop[1];
        int h = height - 2 * top;
        int w = width - 2 * left;
        float[] unpadded = new float[h * w * dim];
        for (int y = 0; y < h; y++) {
            System.arraycopy(grid, ((y + top) * width + left) * dim, unpadded, y * w * dim, w * dim);
        }
        double ratio = Math.sqrt((double) h * w / (maxPatches * (double) side * side));
        if (ratio > 1.1) {
            int newH = (int) Math.floor(h / ratio);
            int newW = (int) Math.floor(w / ratio);
            unpadded = BilinearResize.resize(unpadded, h, w, dim, newH, newW);
            h = newH;
            w = newW;
        }
        float[] out = new float[(perTile + h * (w + 1)) * dim];
        System.arraycopy(features, 0, out, 0, perTile * dim);
        int o = perTile * dim;
        for (int y = 0; y < h; y++) {
            System.arraycopy(unpadded, y * w * dim, out, o, w * dim);
            o += w * dim;
            System.arraycopy(newline, 0, out, o, dim);
            o += dim;
        }
        return out;
    }

    /**
     * {@code unpad_image}: rows (top) or columns (left) to cut from each side of a
     * {@code height x width} grid so it has the image's aspect ratio again; returns {top, left}.
     */
    static int[] unpadCrop(int height, int width, Resolution original) {
        double originalAspect = (double) original.width() / original.height();
        double currentAspect = (double) width / height;
        if (originalAspect > currentAspect) {
            int newHeight = (int) PlaceholderCounts.roundTo7(original.height() * ((double) width / original.width()));
            return new int[] {(height - newHeight) / 2, 0};
        }
        int newWidth = (int) PlaceholderCounts.roundTo7(original.width() * ((double) height / original.height()));
        return new int[] {0, (width - newWidth) / 2};
    }

    /**
     * A video: each of {@code frames} frames' {@code side*side} tokens pooled bilinearly to
     * {@code ceil(side/2)^2} ({@code apply_pooling}), frames concatenated, then one
     * {@code image_newline} at the end (the video branch of {@code forward}).
     *
     * @return [frames * ceil(side/2)^2 + 1, dim] flattened
     */
    public static float[] packVideo(float[] features, int frames, int side, int dim, float[] newline) {
        int perFrame = side * side * dim;
        if (features.length != (long) frames * perFrame) {
            throw new IllegalArgumentException(frames + " frames of " + side * side + "x" + dim + " features expected, got "
                    + features.length + " values");
        }
        int pooled = (side + 1) / 2;
        int pooledSize = pooled * pooled * dim;
        float[] out = new float[frames * pooledSize + dim];
        float[] frame = new float[perFrame];
        for (int f = 0; f < frames; f++) {
            System.arraycopy(features, f * perFrame, frame, 0, perFrame);
            float[] small = BilinearResize.resize(frame, side, side, dim, pooled, pooled);
            System.arraycopy(small, 0, out, f * pooledSize, pooledSize);
        }
        System.arraycopy(newline, 0, out, frames * pooledSize, dim);
        return out;
    }
}
