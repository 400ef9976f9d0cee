package dev.glimpse.evalharness.synth;

import dev.glimpse.kernels.image.RgbImage;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Draws backgrounds and objects with Java2D, antialiased. Pixels depend only on the ground truth
 * (and the JDK's rasteriser), so a scene renders identically every time.
 */
public final class SceneRenderer {

    private SceneRenderer() {
    }

    /** The scene as RGB pixels. */
    public static RgbImage render(Scene scene) {
        return toRgb(draw(scene));
    }

    /** The scene as a PNG file's bytes. */
    public static byte[] png(Scene scene) {
        return png(draw(scene));
    }

    /** The scene drawn into a new image. */
    public static BufferedImage draw(Scene scene) {
        BufferedImage image = background(scene.background(), scene.width(), scene.height());
        drawObjects(image, scene.objects());
        return image;
    }

    /** The textured, cluttered backdrop alone. */
    public static BufferedImage background(Background bg, int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        SplittableRandom rng = new SplittableRandom(bg.seed());
        Texture texture = new Texture(bg, width, height, rng);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int grain = bg.grain() == 0 ? 0 : rng.nextInt(-bg.grain(), bg.grain() + 1);
                px[y * width + x] = lerp(bg.colorA(), bg.colorB(), texture.mix(x, y), grain);
            }
        }
        Graphics2D g = graphics(image);
        try {
            for (int i = 0; i < bg.clutter(); i++) {
                g.setColor(new Color(Palette.muted(rng)));
                double x = rng.nextDouble() * width;
                double y = rng.nextDouble() * height;
                if (rng.nextBoolean()) {
                    double length = 10 + rng.nextDouble() * 30;
                    double a = rng.nextDouble() * 2 * Math.PI;
                    g.setStroke(new BasicStroke((float) (0.8 + rng.nextDouble())));
                    g.draw(new Line2D.Double(x, y, x + length * Math.cos(a), y + length * Math.sin(a)));
                } else {
                    double r = 1 + rng.nextDouble() * 1.5;
                    g.fill(new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r));
                }
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Draws {@code objects} over {@code image}, in order. */
    public static void drawObjects(BufferedImage image, List<SceneObject> objects) {
        Graphics2D g = graphics(image);
        try {
            for (SceneObject o : objects) {
                g.setColor(new Color(o.fill()));
                g.fill(o.shape().outline(o.centerX(), o.centerY(), o.side()));
            }
        } finally {
            g.dispose();
        }
    }

    /** A copy of {@code image}. */
    public static BufferedImage copy(BufferedImage image) {
        BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        int[] src = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
        System.arraycopy(src, 0, dst, 0, src.length);
        return out;
    }

    /** Interleaved RGB bytes of an {@link BufferedImage#TYPE_INT_RGB} image. */
    public static RgbImage toRgb(BufferedImage image) {
        int[] px = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        byte[] out = new byte[px.length * 3];
        for (int i = 0; i < px.length; i++) {
            out[3 * i] = (byte) (px[i] >> 16);
            out[3 * i + 1] = (byte) (px[i] >> 8);
            out[3 * i + 2] = (byte) px[i];
        }
        return new RgbImage(image.getWidth(), image.getHeight(), out);
    }

    /** PNG bytes of {@code image}. */
    public static byte[] png(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed", e);
        }
        return out.toByteArray();
    }

    private static Graphics2D graphics(BufferedImage image) {
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        return g;
    }

    private static int lerp(int a, int b, double t, int grain) {
        int out = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            double v = (a >> shift & 0xFF) * (1 - t) + (b >> shift & 0xFF) * t + grain;
            out |= (int) Math.clamp(Math.round(v), 0, 255) << shift;
        }
        return out;
    }

    /** How far each pixel is from {@code colorA} towards {@code colorB}, in [0, 1]. */
    private static final class Texture {
        private final Background bg;
        private final int width;
        private final int height;
        private final double cos;
        private final double sin;
        private final double[] lattice;
        private final int cols;

        Texture(Background bg, int width, int height, SplittableRandom rng) {
            this.bg = bg;
            this.width = width;
            this.height = height;
            this.cos = Math.cos(bg.angle());
            this.sin = Math.sin(bg.angle());
            this.cols = (int) Math.ceil(width / bg.period()) + 2;
            int rows = (int) Math.ceil(height / bg.period()) + 2;
            this.lattice = new double[cols * rows];
            if (bg.style() == Background.Style.NOISE) {
                for (int i = 0; i < lattice.length; i++) {
                    lattice[i] = rng.nextDouble();
                }
            }
        }

        double mix(int x, int y) {
            return switch (bg.style()) {
                case GRADIENT -> {
                    double diag = Math.hypot(width, height);
                    yield Math.clamp(0.5 + ((x - width / 2.0) * cos + (y - height / 2.0) * sin) / diag, 0, 1);
                }
                case STRIPES -> smooth(0.5 + 0.5 * Math.sin(2 * Math.PI * (x * cos + y * sin) / bg.period()));
                case NOISE -> {
                    double gx = x / bg.period();
                    double gy = y / bg.period();
                    int ix = (int) gx;
                    int iy = (int) gy;
                    double fx = smooth(gx - ix);
                    double fy = smooth(gy - iy);
                    double top = at(ix, iy) * (1 - fx) + at(ix + 1, iy) * fx;
                    double bottom = at(ix, iy + 1) * (1 - fx) + at(ix + 1, iy + 1) * fx;
                    yield top * (1 - fy) + bottom * fy;
                }
            };
        }

        private double at(int ix, int iy) {
            return lattice[iy * cols + ix];
        }

        private static double smooth(double t) {
            return t * t * (3 - 2 * t);
        }
    }
}
