package dev.glimpse.kernels.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RgbImageTest {

    /** A 3x2 image whose pixel (x, y) has R = 10 * y + x, G = 100 + R, B = 200 - R. */
    private static RgbImage sample() {
        byte[] px = new byte[3 * 3 * 2];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                int r = 10 * y + x;
                int i = (y * 3 + x) * 3;
                px[i] = (byte) r;
                px[i + 1] = (byte) (100 + r);
                px[i + 2] = (byte) (200 - r);
            }
        }
        return new RgbImage(3, 2, px);
    }

    @Test
    void getReadsUnsignedInterleavedChannels() {
        RgbImage img = new RgbImage(1, 1, new byte[] {(byte) 255, (byte) 128, 0});
        assertEquals(255, img.get(0, 0, 0));
        assertEquals(128, img.get(0, 0, 1));
        assertEquals(0, img.get(0, 0, 2));
        RgbImage s = sample();
        assertEquals(12, s.get(2, 1, 0));
        assertEquals(112, s.get(2, 1, 1));
        assertEquals(188, s.get(2, 1, 2));
    }

    @Test
    void pixelsAreSharedNotCopied() {
        byte[] px = new byte[3];
        assertSame(px, new RgbImage(1, 1, px).pixels());
    }

    @Test
    void blackIsAllZero() {
        RgbImage b = RgbImage.black(4, 3);
        assertEquals(4, b.width());
        assertEquals(3, b.height());
        assertArrayEquals(new byte[36], b.pixels());
    }

    @Test
    void rotations() {
        RgbImage s = sample();
        assertSame(s, s.rotatedClockwise(0));
        RgbImage r90 = s.rotatedClockwise(90);
        assertEquals(2, r90.width());
        assertEquals(3, r90.height());
        // clockwise: the bottom-left pixel (0, 1) ends up top-left
        assertEquals(10, r90.get(0, 0, 0));
        assertEquals(0, r90.get(1, 0, 0));
        assertEquals(12, r90.get(0, 2, 0));
        RgbImage r180 = s.rotatedClockwise(180);
        assertEquals(3, r180.width());
        assertEquals(12, r180.get(0, 0, 0));
        assertEquals(0, r180.get(2, 1, 0));
        RgbImage r270 = s.rotatedClockwise(270);
        assertEquals(2, r270.width());
        assertEquals(2, r270.get(0, 0, 0));
        assertEquals(102, r270.get(0, 0, 1));
        assertArrayEquals(s.pixels(), r90.rotatedClockwise(270).pixels());
        assertArrayEquals(s.pixels(), r180.rotatedClockwise(180).pixels());
        assertThrows(IllegalArgumentException.class, () -> s.rotatedClockwise(45));
        assertThrows(IllegalArgumentException.class, () -> s.rotatedClockwise(360));
    }

    @Test
    void badSizesThrowImageSizeException() {
        assertThrows(ImageSizeException.class, () -> new RgbImage(0, 1, new byte[0]));
        assertThrows(ImageSizeException.class, () -> new RgbImage(1, 1, null));
        assertThrows(ImageSizeException.class, () -> new RgbImage(2, 2, new byte[11]));
        assertThrows(ImageSizeException.class, () -> RgbImage.black(-1, 4));
        ImageSizeException e = assertThrows(ImageSizeException.class,
                () -> RgbImage.checkDimensions("resize target", Long.MAX_VALUE, Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("resize target size "), e.getMessage());
        assertTrue(e.getMessage().contains("RgbImage.MAX_PIXELS"), e.getMessage());
        assertThrows(ImageSizeException.class, () -> RgbImage.checkDimensions("image", RgbImage.MAX_PIXELS + 1, 1));
        RgbImage.checkDimensions("image", RgbImage.MAX_PIXELS, 1);
        RgbImage.checkDimensions("image", 1L << 13, 1L << 14);
        // an IllegalArgumentException, as the video decoders' images threw before
        assertTrue(IllegalArgumentException.class.isAssignableFrom(ImageSizeException.class));
    }
}
