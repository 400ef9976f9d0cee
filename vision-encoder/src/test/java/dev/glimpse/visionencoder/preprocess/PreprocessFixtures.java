package dev.glimpse.visionencoder.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.image.RgbImage;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Access to fixtures/preprocess (written by tools/fixtures/preprocess/make_preprocess_fixtures.py). */
final class PreprocessFixtures {

    /** Where Debian's opencv-doc package installs its sample images. */
    static final Path OPENCV_DATA = Path.of("/usr/share/doc/opencv-doc/examples/data");

    private PreprocessFixtures() {
    }

    static Path dir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path candidate = p.resolve("fixtures/preprocess");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("fixtures/preprocess not found above " + Path.of("").toAbsolutePath());
    }

    static JsonNode json(String name) {
        try {
            return new ObjectMapper().readTree(dir().resolve(name).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads an 8-bit RGB PNG (lossless, so every decoder yields the bytes PIL saw). */
    static RgbImage readPng(Path file) {
        try {
            BufferedImage img = ImageIO.read(file.toFile());
            int w = img.getWidth();
            int h = img.getHeight();
            byte[] px = new byte[3 * w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int rgb = img.getRGB(x, y);
                    int i = (y * w + x) * 3;
                    px[i] = (byte) (rgb >> 16);
                    px[i + 1] = (byte) (rgb >> 8);
                    px[i + 2] = (byte) rgb;
                }
            }
            return new RgbImage(w, h, px);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The synthetic image of make_preprocess_fixtures.py's {@code synthetic()}: an integer hash of
     * (x, y, c, seed), optionally added to a wrapping gradient ("smooth").
     */
    static RgbImage synthetic(int width, int height, int seed, String kind) {
        byte[] px = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < 3; c++) {
                    int v = x * 0x9E3779B1 + y * 0x85EBCA77 + c * 0xC2B2AE3D + seed * 0x27D4EB2F;
                    v ^= v >>> 15;
                    v *= 0x2C1B3C6D;
                    v ^= v >>> 12;
                    v *= 0x297A2D39;
                    v ^= v >>> 15;
                    int n = v >>> 24;
                    int out = kind.equals("noise") ? n : (x * 5 + y * 3 + c * 85 + (n >>> 6)) & 0xFF;
                    px[(y * width + x) * 3 + c] = (byte) out;
                }
            }
        }
        return new RgbImage(width, height, px);
    }
}
