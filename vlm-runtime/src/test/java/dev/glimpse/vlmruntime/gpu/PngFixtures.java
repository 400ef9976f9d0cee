package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.image.RgbImage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decodes the fixtures' PNGs (8-bit RGB, non-interlaced, as tools/fixtures writes them) with
 * java.base alone, so the GPU tests need neither the OpenCV natives the product's decoder loads
 * nor the java.desktop module (neither fits the device bundle). {@code PngFixturesTest} proves
 * the pixels equal the product decoder's for every fixture image.
 */
public final class PngFixtures {

    private static final long SIGNATURE = 0x89504E470D0A1A0AL;

    private PngFixtures() {
    }

    public static RgbImage decode(Path png) {
        try {
            ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(png));
            if (in.getLong() != SIGNATURE) {
                throw new IllegalArgumentException(png + " is not a PNG file");
            }
            int width = 0;
            int height = 0;
            ByteArrayOutputStream compressed = new ByteArrayOutputStream();
            while (in.remaining() >= 12) {
                int length = in.getInt();
                String type = new String(new byte[] {in.get(), in.get(), in.get(), in.get()}, StandardCharsets.US_ASCII);
                byte[] data = new byte[length];
                in.get(data);
                in.getInt();
                if (type.equals("IHDR")) {
                    ByteBuffer h = ByteBuffer.wrap(data);
                    width = h.getInt();
                    height = h.getInt();
                    if (data[8] != 8 || data[9] != 2 || data[12] != 0) {
                        throw new IllegalArgumentException(png + ": only 8-bit RGB non-interlaced PNGs are supported");
                    }
                } else if (type.equals("IDAT")) {
                    compressed.write(data);
                } else if (type.equals("IEND")) {
                    break;
                }
            }
            return new RgbImage(width, height, unfilter(inflate(compressed.toByteArray(), (width * 3 + 1) * height),
                    width, height));
        } catch (IOException e) {
            throw new UncheckedIOException(png.toString(), e);
        }
    }

    private static byte[] inflate(byte[] data, int size) {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(data);
            byte[] out = new byte[size];
            int n = 0;
            while (n < size && !inflater.finished()) {
                n += inflater.inflate(out, n, size - n);
            }
            return out;
        } catch (DataFormatException e) {
            throw new IllegalArgumentException("corrupt PNG data", e);
        } finally {
            inflater.end();
        }
    }

    /** Reverses the per-row filters (none, sub, up, average, Paeth) with 3 bytes per pixel. */
    private static byte[] unfilter(byte[] raw, int width, int height) {
        int stride = width * 3;
        byte[] out = new byte[stride * height];
        for (int y = 0; y < height; y++) {
            int filter = raw[y * (stride + 1)];
            int src = y * (stride + 1) + 1;
            int row = y * stride;
            for (int x = 0; x < stride; x++) {
                int a = x >= 3 ? out[row + x - 3] & 0xFF : 0;
                int b = y > 0 ? out[row - stride + x] & 0xFF : 0;
                int c = x >= 3 && y > 0 ? out[row - stride + x - 3] & 0xFF : 0;
                int predictor = switch (filter) {
                    case 0 -> 0;
                    case 1 -> a;
                    case 2 -> b;
                    case 3 -> (a + b) >>> 1;
                    case 4 -> paeth(a, b, c);
                    default -> throw new IllegalArgumentException("unknown PNG filter " + filter);
                };
                out[row + x] = (byte) (raw[src + x] + predictor);
            }
        }
        return out;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
