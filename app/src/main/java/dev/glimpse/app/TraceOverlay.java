package dev.glimpse.app;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.trace.PruningTrace;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * Draws one frame of one pruning-trace stage over the picture the vision tower saw, as two panels
 * side by side under a caption: left, dropped patches dimmed and kept patches outlined; right, the
 * stage's score per patch as a heatmap (dark purple low, yellow high; grey: not scored, already
 * pruned), or the kept mask when the stage ranks by no score. Small pictures are upscaled with
 * nearest neighbour to at least {@value #MIN_SIDE} pixels so every patch is visible.
 */
final class TraceOverlay {

    static final int MIN_SIDE = 384;
    private static final int GAP = 8;
    private static final int CAPTION = 22;
    private static final int[][] PALETTE = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};

    private TraceOverlay() {
    }

    static BufferedImage render(RgbImage view, PruningTrace.Stage stage, PruningTrace.FrameTrace frame) {
        int scale = Math.max(1, (MIN_SIDE + Math.max(view.width(), view.height()) - 1)
                / Math.max(view.width(), view.height()));
        int w = view.width() * scale;
        int h = view.height() * scale;
        BufferedImage out = new BufferedImage(2 * w + GAP, h + CAPTION, BufferedImage.TYPE_INT_RGB);
        boolean[] kept = new boolean[frame.rows() * frame.cols()];
        for (PruningTrace.Cell c : frame.kept()) {
            kept[c.row() * frame.cols() + c.col()] = true;
        }
        float[] unit = normalisedScores(frame);
        for (int y = 0; y < h; y++) {
            int cellRow = y * frame.rows() / h;
            for (int x = 0; x < w; x++) {
                int cell = cellRow * frame.cols() + x * frame.cols() / w;
                int sx = x / scale;
                int sy = y / scale;
                int r = view.get(sx, sy, 0);
                int g = view.get(sx, sy, 1);
                int b = view.get(sx, sy, 2);
                out.setRGB(x, y + CAPTION, kept[cell] ? rgb(r, g, b) : rgb(r / 4 + 24, g / 4 + 24, b / 4 + 24));
                int grey = (r * 3 + g * 6 + b) / 10;
                int[] heat = unit == null ? (kept[cell] ? PALETTE[4] : PALETTE[0])
                        : Float.isNaN(unit[cell]) ? new int[] {90, 90, 90} : colour(unit[cell]);
                out.setRGB(w + GAP + x, y + CAPTION, rgb((heat[0] * 3 + grey) / 4, (heat[1] * 3 + grey) / 4,
                        (heat[2] * 3 + grey) / 4));
            }
        }
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(new Color(0, 230, 118));
            g.setStroke(new BasicStroke(Math.max(1, scale / 6f)));
            for (int cell = 0; cell < kept.length; cell++) {
                if (kept[cell]) {
                    int row = cell / frame.cols();
                    int col = cell % frame.cols();
                    int x0 = col * w / frame.cols();
                    int y0 = row * h / frame.rows();
                    g.drawRect(x0, y0 + CAPTION, (col + 1) * w / frame.cols() - x0 - 1,
                            (row + 1) * h / frame.rows() - y0 - 1);
                }
            }
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            g.drawString(stage.name() + "  frame " + frame.frame() + "  kept " + frame.kept().size() + "/" + kept.length
                    + (frame.budget() == null ? "" : "  budget " + frame.budget()), 6, 16);
            g.drawString(unit == null ? "kept mask" : "score", w + GAP + 6, 16);
        } finally {
            g.dispose();
        }
        return out;
    }

    /** Scores mapped to [0, 1] over the scored cells (NaN where not scored), or null without scores. */
    private static float[] normalisedScores(PruningTrace.FrameTrace frame) {
        if (frame.scores() == null) {
            return null;
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (Float s : frame.scores()) {
            if (s != null) {
                min = Math.min(min, s);
                max = Math.max(max, s);
            }
        }
        float[] out = new float[frame.scores().size()];
        for (int i = 0; i < out.length; i++) {
            Float s = frame.scores().get(i);
            out[i] = s == null ? Float.NaN : max > min ? (s - min) / (max - min) : 1f;
        }
        return out;
    }

    private static int[] colour(float t) {
        float p = t * (PALETTE.length - 1);
        int i = Math.min(PALETTE.length - 2, (int) p);
        float f = p - i;
        int[] out = new int[3];
        for (int c = 0; c < 3; c++) {
            out[c] = Math.round(PALETTE[i][c] + f * (PALETTE[i + 1][c] - PALETTE[i][c]));
        }
        return out;
    }

    private static int rgb(int r, int g, int b) {
        return (r << 16) | (g << 8) | b;
    }
}
