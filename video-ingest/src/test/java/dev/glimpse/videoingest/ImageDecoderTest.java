package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Images of each format decode to upright RGB; bad images give typed errors. */
class ImageDecoderTest {

    private static final Color RED = new Color(255, 0, 0);
    private static final Color BLUE = new Color(0, 0, 255);

    @TempDir
    Path dir;

    /** 40 x 20: red left half, blue right half. */
    private static BufferedImage halves(int type) {
        BufferedImage img = new BufferedImage(40, 20, type);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 40; x++) {
                img.setRGB(x, y, (x < 20 ? RED : BLUE).getRGB());
            }
        }
        return img;
    }

    private static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), format);
        return out.toByteArray();
    }

    private static RgbImage decode(String name, byte[] bytes) {
        return ImageDecoder.decode(VideoSource.of(name, bytes), MediaLimits.DEFAULTS);
    }

    /** {@link #halves}'s red left and blue right half, each channel within {@code tolerance}. */
    private static void assertHalves(RgbImage img, int tolerance) {
        assertColor(img, 5, 5, 255, 0, 0, tolerance);
        assertColor(img, 35, 5, 0, 0, 255, tolerance);
    }

    private static void assertColor(RgbImage img, int x, int y, int r, int g, int b, int tolerance) {
        int[] got = {img.get(x, y, 0), img.get(x, y, 1), img.get(x, y, 2)};
        int[] want = {r, g, b};
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(got[c] - want[c]) <= tolerance,
                    "pixel (" + x + "," + y + ") is " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
        }
    }

    @Test
    void pngDecodesToExactRgb() throws Exception {
        RgbImage img = decode("a.png", encode(halves(BufferedImage.TYPE_3BYTE_BGR), "png"));
        assertEquals(40, img.width());
        assertEquals(20, img.height());
        assertHalves(img, 0);
    }

    @Test
    void grayscalePngBecomesThreeEqualChannels() throws Exception {
        BufferedImage gray = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(3, 3, 0, 200);
        RgbImage img = decode("gray.png", encode(gray, "png"));
        assertColor(img, 3, 3, 200, 200, 200, 0);
        assertColor(img, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void palettePngBecomesRgb() throws Exception {
        RgbImage img = decode("palette.png", encode(halves(BufferedImage.TYPE_BYTE_INDEXED), "png"));
        assertHalves(img, 0);
    }

    @Test
    void alphaIsDroppedLikePilConvertRgb() throws Exception {
        BufferedImage argb = halves(BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(5, 5, 0x40FF0000);
        RgbImage img = decode("alpha.png", encode(argb, "png"));
        assertHalves(img, 0);
    }

    @Test
    void jpegExifOrientationIsApplied() throws Exception {
        byte[] jpeg = withExifOrientation(encode(halves(BufferedImage.TYPE_3BYTE_BGR), "jpg"), 6);
        RgbImage img = decode("phone.jpg", jpeg);
        // orientation 6: turn 90 degrees clockwise to display, so the left half ends up on top
        assertEquals(20, img.width());
        assertEquals(40, img.height());
        assertColor(img, 10, 5, 255, 0, 0, 40);
        assertColor(img, 10, 35, 0, 0, 255, 40);
    }

    @Test
    void bmpDecodes() throws Exception {
        RgbImage img = decode("a.bmp", encode(halves(BufferedImage.TYPE_3BYTE_BGR), "bmp"));
        assertHalves(img, 0);
    }

    @Test
    void webpDecodes() {
        byte[] bgr = new byte[40 * 20 * 3];
        for (int i = 0; i < 40 * 20; i++) {
            boolean left = i % 40 < 20;
            bgr[i * 3] = (byte) (left ? 0 : 255);
            bgr[i * 3 + 2] = (byte) (left ? 255 : 0);
        }
        byte[] webp;
        try (BytePointer data = new BytePointer(bgr);
             Mat mat = new Mat(20, 40, org.bytedeco.opencv.global.opencv_core.CV_8UC3, data);
             BytePointer out = new BytePointer()) {
            assertTrue(org.bytedeco.opencv.global.opencv_imgcodecs.imencode(".webp", mat, out));
            webp = new byte[(int) out.limit()];
            out.get(webp);
        }
        RgbImage img = decode("a.webp", webp);
        assertHalves(img, 8);
    }

    @Test
    void gifGivesItsFirstFrame() throws Exception {
        Path gif = dir.resolve("anim.gif");
        try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(gif.toFile(), 16, 16, 0)) {
            r.setFormat("gif");
            r.setVideoCodecName("gif");
            r.setPixelFormat(AV_PIX_FMT_RGB8);
            r.setFrameRate(10);
            r.start();
            for (int[] color : new int[][] {{255, 0, 0}, {0, 255, 0}}) {
                org.bytedeco.javacv.Frame f = new org.bytedeco.javacv.Frame(16, 16, org.bytedeco.javacv.Frame.DEPTH_UBYTE, 3);
                ByteBuffer buf = (ByteBuffer) f.image[0];
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int at = y * f.imageStride + x * 3;
                        buf.put(at, (byte) color[0]).put(at + 1, (byte) color[1]).put(at + 2, (byte) color[2]);
                    }
                }
                r.record(f, AV_PIX_FMT_RGB24);
            }
            r.stop();
        }
        RgbImage img = ImageDecoder.decode(VideoSource.of(gif), MediaLimits.DEFAULTS);
        assertEquals(16, img.width());
        assertColor(img, 8, 8, 255, 0, 0, 40);
    }

    @Test
    void decompressionBombIsRefusedFromItsHeader() {
        byte[] png = new byte[64];
        byte[] head = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                0, 1, (byte) 0x86, (byte) 0xA0, 0, 1, (byte) 0x86, (byte) 0xA0};
        System.arraycopy(head, 0, png, 0, head.length);
        MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class, () -> decode("bomb.png", png));
        assertEquals("bomb.png: frame size 100000x100000 (10000000000 pixels) exceeds the limit of 33177600 pixels"
                + " (raise it with --max-pixels)", e.getMessage());
    }

    @Test
    void truncatedImageIsCorrupt() throws Exception {
        byte[] png = encode(halves(BufferedImage.TYPE_3BYTE_BGR), "png");
        CorruptMediaException e = assertThrows(CorruptMediaException.class, () -> decode("cut.png", Arrays.copyOf(png, 40)));
        assertEquals("cut.png: the image data is damaged or truncated", e.getMessage());
        assertThrows(CorruptMediaException.class, () -> decode("short.png", Arrays.copyOf(png, 18)));
    }

    @Test
    void emptyImageIsCorrupt() {
        assertEquals("empty.jpg: the file is empty",
                assertThrows(CorruptMediaException.class, () -> decode("empty.jpg", new byte[0])).getMessage());
    }

    @Test
    void otherFormatsAreUnsupported() {
        byte[] tiff = {'I', 'I', '*', 0, 8, 0, 0, 0, 0, 0, 0, 0};
        assertEquals("scan.tif: not a jpg, png, webp, bmp or gif image",
                assertThrows(UnsupportedMediaException.class, () -> decode("scan.tif", tiff)).getMessage());
    }

    @Test
    void imageFileIsReadFromDisk() throws Exception {
        Path png = Files.write(dir.resolve("disk.png"), encode(halves(BufferedImage.TYPE_3BYTE_BGR), "png"));
        RgbImage img = ImageDecoder.decode(VideoSource.of(png), MediaLimits.DEFAULTS);
        assertArrayEquals(decode("same.png", Files.readAllBytes(png)).pixels(), img.pixels());
    }

    /** Inserts an EXIF APP1 segment with the given orientation right after the JPEG's SOI marker. */
    static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        byte[] app1 = {
                (byte) 0xFF, (byte) 0xE1, 0, 34,
                'E', 'x', 'i', 'f', 0, 0,
                'M', 'M', 0, 42, 0, 0, 0, 8,
                0, 1,
                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0,
                0, 0, 0, 0};
        byte[] out = new byte[jpeg.length + app1.length];
        out[0] = jpeg[0];
        out[1] = jpeg[1];
        System.arraycopy(app1, 0, out, 2, app1.length);
        System.arraycopy(jpeg, 2, out, 2 + app1.length, jpeg.length - 2);
        return out;
    }
}
