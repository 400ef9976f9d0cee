package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.RgbImage;

/**
 * Geometric operations on 8-bit images as transformers' numpy code performs them: center crop
 * ({@code image_transforms.center_crop}), constant padding ({@code np.pad}) and sub-image
 * extraction (array slicing).
 */
final class PixelOps {

    private PixelOps() {
    }

    /**
     * {@code image_transforms.center_crop}: offsets {@code (H - h) // 2}, {@code (W - w) // 2}
     * (floor division); when the crop is larger than the image on a side, the image is first placed
     * on a zero canvas at offset {@code ceil((max(h, H) - H) / 2)} and the crop window is shifted
     * by that amount, exactly as transformers does.
     */
    static RgbImage centerCrop(RgbImage image, Resolution crop) {
        int origH = image.height();
        int origW = image.width();
        int cropH = crop.height();
        int cropW = crop.width();
        int top = Math.floorDiv(origH - cropH, 2);
        int left = Math.floorDiv(origW - cropW, 2);
        if (top >= 0 && top + cropH <= origH && left >= 0 && left + cropW <= origW) {
            return region(image, left, top, cropW, cropH);
        }
        int newH = Math.max(cropH, origH);
        int newW = Math.max(cropW, origW);
        int topPad = (newH - origH + 1) / 2;
        int leftPad = (newW - origW + 1) / 2;
        RgbImage canvas = pad(image, newW, newH, leftPad, topPad, new int[] {0, 0, 0});
        top += topPad;
        left += leftPad;
        int y0 = Math.max(0, top);
        int y1 = Math.min(newH, top + cropH);
        int x0 = Math.max(0, left);
        int x1 = Math.min(newW, left + cropW);
        return region(canvas, x0, y0, x1 - x0, y1 - y0);
    }

    /** The {@code width x height} sub-image whose top-left pixel is ({@code x}, {@code y}). */
    static RgbImage region(RgbImage image, int x, int y, int width, int height) {
        if (x == 0 && y == 0 && width == image.width() && height == image.height()) {
            return image;
        }
        byte[] out = new byte[3 * width * height];
        for (int row = 0; row < height; row++) {
            System.arraycopy(image.pixels(), ((y + row) * image.width() + x) * 3, out, row * width * 3, width * 3);
        }
        return new RgbImage(width, height, out);
    }

    /**
     * Places {@code image} at ({@code left}, {@code top}) on a {@code width x height} canvas filled
     * with {@code fill} (R, G, B).
     *
     * @throws ImageSizeException if the canvas is over {@link RgbImage#MAX_PIXELS}
     */
    static RgbImage pad(RgbImage image, int width, int height, int left, int top, int[] fill) {
        RgbImage.checkDimensions("padded image", width, height);
        byte[] out = new byte[3 * width * height];
        if (fill[0] != 0 || fill[1] != 0 || fill[2] != 0) {
            byte[] pixel = {(byte) fill[0], (byte) fill[1], (byte) fill[2]};
            for (int i = 0; i < out.length; i += 3) {
                System.arraycopy(pixel, 0, out, i, 3);
            }
        }
        for (int row = 0; row < image.height(); row++) {
            System.arraycopy(image.pixels(), row * image.width() * 3, out, ((top + row) * width + left) * 3,
                    image.width() * 3);
        }
        return new RgbImage(width, height, out);
    }

}
