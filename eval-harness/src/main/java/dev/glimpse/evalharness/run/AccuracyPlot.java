package dev.glimpse.evalharness.run;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Accuracy versus visual tokens kept, drawn with Java2D: x is the mean share of visual tokens the
 * decoder processed (percent of unpruned, averaged over layers, so decoder-side pruning counts),
 * y the accuracy in percent; one line per strategy through its budgets, the unpruned accuracy as
 * a dashed reference line, a legend on the right.
 */
public final class AccuracyPlot {

    private static final int WIDTH = 960;
    private static final int HEIGHT = 600;
    private static final int LEFT = 80;
    private static final int RIGHT = 190;
    private static final int TOP = 60;
    private static final int BOTTOM = 70;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf)};

    private AccuracyPlot() {
    }

    /** Draws {@code summaries} under {@code title} into a PNG at {@code file}. */
    public static void write(Path file, String title, List<ConfigSummary> summaries) throws IOException {
        ImageIO.write(draw(title, summaries), "png", file.toFile());
    }

    static BufferedImage draw(String title, List<ConfigSummary> summaries) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            axes(g, title);
            Map<String, List<ConfigSummary>> series = new LinkedHashMap<>();
            ConfigSummary unpruned = null;
            for (ConfigSummary s : summaries) {
                if (s.questions() == 0) {
                    continue;
                }
                if (s.config().plan().isEmpty()) {
                    unpruned = s;
                } else {
                    series.computeIfAbsent(s.config().prune() + (s.config().positions() == null ? ""
                            : " (" + s.config().positions().key() + ")"), k -> new ArrayList<>()).add(s);
                }
            }
            List<String> legend = new ArrayList<>();
            List<Color> legendColors = new ArrayList<>();
            if (unpruned != null) {
                double y = py(100 * unpruned.accuracy());
                g.setColor(Color.DARK_GRAY);
                g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 5}, 0));
                g.draw(new Line2D.Double(LEFT, y, WIDTH - RIGHT, y));
                marker(g, px(100 * unpruned.keptShare()), y, Color.DARK_GRAY);
                legend.add("unpruned");
                legendColors.add(Color.DARK_GRAY);
            }
            int i = 0;
            for (Map.Entry<String, List<ConfigSummary>> e : series.entrySet()) {
                Color c = COLORS[i++ % COLORS.length];
                List<ConfigSummary> points = new ArrayList<>(e.getValue());
                points.sort(Comparator.comparingDouble(ConfigSummary::keptShare));
                g.setColor(c);
                g.setStroke(new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                Path2D line = new Path2D.Double();
                for (int k = 0; k < points.size(); k++) {
                    double x = px(100 * points.get(k).keptShare());
                    double y = py(100 * points.get(k).accuracy());
                    if (k == 0) {
                        line.moveTo(x, y);
                    } else {
                        line.lineTo(x, y);
                    }
                }
                g.draw(line);
                for (ConfigSummary p : points) {
                    marker(g, px(100 * p.keptShare()), py(100 * p.accuracy()), c);
                }
                legend.add(e.getKey());
                legendColors.add(c);
            }
            legend(g, legend, legendColors);
        } finally {
            g.dispose();
        }
        return image;
    }

    private static void axes(Graphics2D g, String title) {
        Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        g.setFont(base.deriveFont(Font.BOLD, 16f));
        g.setColor(Color.BLACK);
        FontMetrics tm = g.getFontMetrics();
        g.drawString(title, LEFT + (plotWidth() - tm.stringWidth(title)) / 2, TOP - 25);
        g.setFont(base);
        FontMetrics fm = g.getFontMetrics();
        for (int v = 0; v <= 100; v += 10) {
            double x = px(v);
            double y = py(v);
            g.setColor(new Color(0xE6E6E6));
            g.setStroke(new BasicStroke(1f));
            g.draw(new Line2D.Double(x, TOP, x, HEIGHT - BOTTOM));
            g.draw(new Line2D.Double(LEFT, y, WIDTH - RIGHT, y));
            g.setColor(Color.BLACK);
            g.draw(new Line2D.Double(x, HEIGHT - BOTTOM, x, HEIGHT - BOTTOM + 5));
            g.draw(new Line2D.Double(LEFT - 5, y, LEFT, y));
            String label = Integer.toString(v);
            g.drawString(label, (float) (x - fm.stringWidth(label) / 2.0), HEIGHT - BOTTOM + 20);
            g.drawString(label, (float) (LEFT - 9 - fm.stringWidth(label)), (float) (y + fm.getAscent() / 2.0 - 1));
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1.3f));
        g.drawRect(LEFT, TOP, plotWidth(), plotHeight());
        String xLabel = "visual tokens kept (% of unpruned, mean over decoder layers)";
        g.drawString(xLabel, LEFT + (plotWidth() - fm.stringWidth(xLabel)) / 2, HEIGHT - BOTTOM + 45);
        String yLabel = "accuracy (%)";
        Graphics2D r = (Graphics2D) g.create();
        try {
            r.rotate(-Math.PI / 2);
            r.drawString(yLabel, -(TOP + (plotHeight() + fm.stringWidth(yLabel)) / 2), LEFT - 45);
        } finally {
            r.dispose();
        }
    }

    private static void legend(Graphics2D g, List<String> names, List<Color> colors) {
        if (names.isEmpty()) {
            return;
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        FontMetrics fm = g.getFontMetrics();
        int x = WIDTH - RIGHT + 20;
        int y = TOP + 10;
        int rowHeight = 22;
        g.setColor(new Color(0xFAFAFA));
        g.fillRect(x - 8, y - 8, RIGHT - 30, names.size() * rowHeight + 10);
        g.setColor(new Color(0xBBBBBB));
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x - 8, y - 8, RIGHT - 30, names.size() * rowHeight + 10);
        for (int i = 0; i < names.size(); i++) {
            int cy = y + i * rowHeight + 6;
            g.setColor(colors.get(i));
            g.setStroke(new BasicStroke(2.2f));
            g.draw(new Line2D.Double(x, cy, x + 26, cy));
            marker(g, x + 13, cy, colors.get(i));
            g.setColor(Color.BLACK);
            g.drawString(names.get(i), x + 34, cy + fm.getAscent() / 2 - 1);
        }
    }

    private static void marker(Graphics2D g, double x, double y, Color c) {
        g.setColor(Color.WHITE);
        g.fill(new Ellipse2D.Double(x - 5, y - 5, 10, 10));
        g.setColor(c);
        g.setStroke(new BasicStroke(2f));
        g.draw(new Ellipse2D.Double(x - 4, y - 4, 8, 8));
    }

    private static int plotWidth() {
        return WIDTH - LEFT - RIGHT;
    }

    private static int plotHeight() {
        return HEIGHT - TOP - BOTTOM;
    }

    private static double px(double percent) {
        return LEFT + Math.clamp(percent, 0, 100) / 100 * plotWidth();
    }

    private static double py(double percent) {
        return HEIGHT - BOTTOM - Math.clamp(percent, 0, 100) / 100 * plotHeight();
    }

    /** "Accuracy vs visual tokens kept: test, 120 questions". */
    public static String title(String split, int questions) {
        return String.format(Locale.ROOT, "Accuracy vs visual tokens kept: %s split, %d questions", split, questions);
    }
}
