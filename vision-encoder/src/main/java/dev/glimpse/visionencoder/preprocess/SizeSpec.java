package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.RgbImage;

/**
 * The {@code size} of a preprocessor config and how transformers' {@code PilBackend.resize}
 * turns it into an output size for an image of a given size.
 */
public sealed interface SizeSpec {

    /** The (height, width) the image is resized to. */
    Resolution outputSize(int height, int width);

    /**
     * {@code {"shortest_edge": s}}: the short side becomes {@code s}, the long side keeps the aspect
     * ratio, truncated — {@code get_resize_output_image_size(default_to_square=False)}:
     * {@code int(s * long / short)}.
     */
    record ShortestEdge(int shortestEdge) implements SizeSpec {
        public ShortestEdge {
            requirePositive("shortest_edge", shortestEdge);
        }

        @Override
        public Resolution outputSize(int height, int width) {
            int shortSide = Math.min(height, width);
            int longSide = Math.max(height, width);
            long newLong = (long) ((double) ((long) shortestEdge * longSide) / shortSide);
            RgbImage.checkDimensions("resize target", newLong, shortestEdge);
            return width <= height
                    ? new Resolution((int) newLong, shortestEdge)
                    : new Resolution(shortestEdge, (int) newLong);
        }
    }

    /** {@code {"height": h, "width": w}}: exactly that size, aspect ratio ignored. */
    record FixedSize(int height, int width) implements SizeSpec {
        public FixedSize {
            requirePositive("height", height);
            requirePositive("width", width);
        }

        @Override
        public Resolution outputSize(int imageHeight, int imageWidth) {
            return new Resolution(height, width);
        }
    }

    /**
     * {@code {"shortest_edge": s, "longest_edge": l}}: {@code get_size_with_aspect_ratio}: the short
     * side becomes {@code s} unless that makes the long side exceed {@code l}, in which case the
     * short side becomes {@code round(l * short / long)} (Python's half-to-even {@code round}).
     */
    record ShortestLongestEdge(int shortestEdge, int longestEdge) implements SizeSpec {
        public ShortestLongestEdge {
            requirePositive("shortest_edge", shortestEdge);
            requirePositive("longest_edge", longestEdge);
        }

        @Override
        public Resolution outputSize(int height, int width) {
            int size = shortestEdge;
            double minOriginal = Math.min(height, width);
            double maxOriginal = Math.max(height, width);
            double rawSize = Double.NaN;
            if (maxOriginal / minOriginal * size > longestEdge) {
                rawSize = longestEdge * minOriginal / maxOriginal;
                size = (int) Math.rint(rawSize);
            }
            long oh;
            long ow;
            if ((height <= width && height == size) || (width <= height && width == size)) {
                oh = height;
                ow = width;
            } else if (width < height) {
                ow = size;
                oh = Double.isNaN(rawSize) ? (long) ((double) ((long) size * height) / width) : (long) (rawSize * height / width);
            } else {
                oh = size;
                ow = Double.isNaN(rawSize) ? (long) ((double) ((long) size * width) / height) : (long) (rawSize * width / height);
            }
            RgbImage.checkDimensions("resize target", ow, oh);
            return new Resolution((int) oh, (int) ow);
        }
    }

    private static void requirePositive(String key, int value) {
        if (value <= 0) {
            throw new ImageSizeException("size '" + key + "' must be positive, not " + value);
        }
    }
}
