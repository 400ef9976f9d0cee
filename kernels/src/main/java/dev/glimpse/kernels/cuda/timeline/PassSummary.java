package dev.glimpse.kernels.cuda.timeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a {@link PassTimeline} says about where a pass's time goes: per layer ({@link LayerSplit})
 * the kernels' summed time and the idle time after them, per kernel position within a layer the
 * mean over layers, and for the whole pass the kernels' sum and the gaps set against the host's
 * wall time.
 *
 * <p>A gap is time in which no kernel of the pass runs: the idle time before kernel {@code i + 1}
 * is its start minus the latest end among kernels {@code 0..i} (0 when it starts earlier, as a
 * programmatic dependent launch or a concurrent kernel does). A kernel's gap is the idle time
 * after it; a layer's gap the sum over its kernels, the last one's reaching to the next layer's
 * first kernel. {@code lead} is the time from the host mark to the first kernel's start (the
 * launch or graph-launch latency), {@code tail} from the last end to the host mark after the wait.
 * So wall = lead + span + tail, and span = busy + gaps.
 */
public record PassSummary(String pass, int kernels, long wallNs, long spanNs, long kernelNs, long gapNs, long leadNs,
                          long tailNs, LayerSplit split, Segment prologue, List<Segment> layers, Segment epilogue,
                          List<Position> positions, List<Launch> outsideLayers) {

    /** A stretch of the pass: its kernels, their summed time, the idle time after them, first start to next start. */
    public record Segment(int kernels, long kernelNs, long gapNs, long spanNs) {
    }

    /**
     * The {@code index}-th kernel of every layer: its readable name and grid, its time (mean,
     * least, most over the layers) and the mean idle time after it.
     */
    public record Position(int index, String name, String grid, long meanNs, long minNs, long maxNs, long meanGapNs) {
    }

    /** A kernel of the prologue or epilogue: its index in the pass, readable name, grid, time and the idle time after it. */
    public record Launch(int index, String name, String grid, long ns, long gapNs) {
    }

    /** The summary of {@code timeline}, layers found with {@code layerStart} (may be null, see {@link LayerSplit#find}). */
    public static PassSummary of(PassTimeline timeline, Pattern layerStart) {
        List<KernelRecord> k = timeline.kernels();
        int n = k.size();
        long[] gapAfter = new long[n];
        long frontier = n == 0 ? 0 : k.getFirst().endNs();
        long kernelNs = 0;
        long gapNs = 0;
        for (int i = 0; i < n; i++) {
            kernelNs += k.get(i).durationNs();
            if (i + 1 < n) {
                gapAfter[i] = Math.max(0, k.get(i + 1).startNs() - frontier);
                gapNs += gapAfter[i];
                frontier = Math.max(frontier, k.get(i + 1).endNs());
            }
        }
        long lastEnd = frontier;
        long span = n == 0 ? 0 : lastEnd - k.getFirst().startNs();
        long lead = n == 0 ? 0 : k.getFirst().startNs() - timeline.hostStartNs();
        long tail = n == 0 ? 0 : timeline.hostEndNs() - lastEnd;
        LayerSplit split = LayerSplit.find(k, layerStart);
        List<Segment> layers = new ArrayList<>();
        for (int l = 0; l < split.layers(); l++) {
            int from = split.first() + l * split.period();
            layers.add(segment(k, gapAfter, from, from + split.period(), lastEnd));
        }
        List<Position> positions = new ArrayList<>();
        for (int j = 0; j < split.period(); j++) {
            long sum = 0;
            long gaps = 0;
            long min = Long.MAX_VALUE;
            long max = 0;
            for (int l = 0; l < split.layers(); l++) {
                int i = split.first() + l * split.period() + j;
                long d = k.get(i).durationNs();
                sum += d;
                gaps += gapAfter[i];
                min = Math.min(min, d);
                max = Math.max(max, d);
            }
            KernelRecord first = k.get(split.first() + j);
            positions.add(new Position(j, first.readableName(), first.grid(), sum / split.layers(), min, max,
                    gaps / split.layers()));
        }
        List<Launch> outside = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (i < split.first() || i >= split.end() || split.layers() == 0) {
                KernelRecord r = k.get(i);
                outside.add(new Launch(i, r.readableName(), r.grid(), r.durationNs(), gapAfter[i]));
            }
        }
        return new PassSummary(timeline.pass(), n, timeline.wallNs(), span, kernelNs, gapNs, lead, tail, split,
                segment(k, gapAfter, 0, split.first(), lastEnd), layers, segment(k, gapAfter, split.end(), n, lastEnd),
                positions, outside);
    }

    private static Segment segment(List<KernelRecord> k, long[] gapAfter, int from, int to, long lastEnd) {
        if (from >= to) {
            return new Segment(0, 0, 0, 0);
        }
        long kernelNs = 0;
        long gapNs = 0;
        for (int i = from; i < to; i++) {
            kernelNs += k.get(i).durationNs();
            gapNs += gapAfter[i];
        }
        long next = to < k.size() ? k.get(to).startNs() : lastEnd;
        return new Segment(to - from, kernelNs, gapNs, next - k.get(from).startNs());
    }

    /** Mean over the layers of their kernel time (0 without layers). */
    public long meanLayerKernelNs() {
        return layers.isEmpty() ? 0 : layers.stream().mapToLong(Segment::kernelNs).sum() / layers.size();
    }

    /** Mean over the layers of their gap time (0 without layers). */
    public long meanLayerGapNs() {
        return layers.isEmpty() ? 0 : layers.stream().mapToLong(Segment::gapNs).sum() / layers.size();
    }

    /** One JSON line ({@code "bench":"cuda_timeline"}): the pass's totals, layer means and positions. */
    public String json() {
        String positionsJson = positions.stream()
                .map(p -> String.format(Locale.ROOT, "{\"name\":\"%s\",\"grid\":\"%s\",\"mean_us\":%.2f,\"min_us\":%.2f,"
                                + "\"max_us\":%.2f,\"gap_us\":%.2f}", escape(p.name()), p.grid(), us(p.meanNs()),
                        us(p.minNs()), us(p.maxNs()), us(p.meanGapNs())))
                .collect(Collectors.joining(",", "[", "]"));
        return String.format(Locale.ROOT, "{\"bench\":\"cuda_timeline\",\"pass\":\"%s\",\"kernels\":%d,\"wall_ms\":%.4f,"
                        + "\"gpu_span_ms\":%.4f,\"kernel_ms\":%.4f,\"gap_ms\":%.4f,\"lead_ms\":%.4f,\"tail_ms\":%.4f,"
                        + "\"layers\":%d,\"kernels_per_layer\":%d,\"first_layer_kernel\":%d,\"layer_kernel_us\":%.2f,"
                        + "\"layer_gap_us\":%.2f,\"prologue_ms\":%.4f,\"epilogue_ms\":%.4f,\"positions\":%s}",
                escape(pass), kernels, ms(wallNs), ms(spanNs), ms(kernelNs), ms(gapNs), ms(leadNs), ms(tailNs),
                split.layers(), split.period(), split.first(), us(meanLayerKernelNs()), us(meanLayerGapNs()),
                ms(prologue.kernelNs() + prologue.gapNs()), ms(epilogue.kernelNs() + epilogue.gapNs()), positionsJson);
    }

    /**
     * The human table: totals, one row per layer, one per kernel position, one per kernel outside
     * the layers (all of them when no layer was found); every line starts with '#'.
     */
    public List<String> table() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "# %s: %d kernels; wall %.3f ms = lead %.3f + GPU span %.3f + tail %.3f; "
                        + "kernels %.3f ms, gaps %.3f ms (%.1f%% of the span)", pass, kernels, ms(wallNs), ms(leadNs),
                ms(spanNs), ms(tailNs), ms(kernelNs), ms(gapNs), spanNs == 0 ? 0 : 100.0 * gapNs / spanNs));
        if (split.layers() == 0) {
            lines.add("#   no repeated layer found (fewer than " + LayerSplit.MIN_LAYERS + " alike blocks of kernels)");
            outsideRows(lines);
            return lines;
        }
        lines.add(String.format(Locale.ROOT, "#   %d layers x %d kernels from kernel %d; prologue %d kernels %.1f us "
                        + "(+%.1f us gaps), epilogue %d kernels %.1f us (+%.1f us gaps)", split.layers(), split.period(),
                split.first(), prologue.kernels(), us(prologue.kernelNs()), us(prologue.gapNs()), epilogue.kernels(),
                us(epilogue.kernelNs()), us(epilogue.gapNs())));
        lines.add("#   layer  kernel_us   gap_us  span_us");
        for (int l = 0; l < layers.size(); l++) {
            Segment s = layers.get(l);
            lines.add(String.format(Locale.ROOT, "#   %5d %10.2f %8.2f %8.2f", l, us(s.kernelNs()), us(s.gapNs()),
                    us(s.spanNs())));
        }
        lines.add(String.format(Locale.ROOT, "#   mean  %10.2f %8.2f", us(meanLayerKernelNs()), us(meanLayerGapNs())));
        lines.add("#   pos  mean_us   min_us   max_us  gap_us  grid            kernel");
        for (Position p : positions) {
            lines.add(String.format(Locale.ROOT, "#   %3d %8.2f %8.2f %8.2f %7.2f  %-15s %s", p.index(), us(p.meanNs()),
                    us(p.minNs()), us(p.maxNs()), us(p.meanGapNs()), p.grid(), p.name()));
        }
        outsideRows(lines);
        return lines;
    }

    private void outsideRows(List<String> lines) {
        if (outsideLayers.isEmpty()) {
            return;
        }
        lines.add("#   kernel  time_us  gap_us  grid            (outside the layers)");
        for (Launch l : outsideLayers) {
            lines.add(String.format(Locale.ROOT, "#   %6d %8.2f %7.2f  %-15s %s", l.index(), us(l.ns()), us(l.gapNs()),
                    l.grid(), l.name()));
        }
    }

    private static double ms(long ns) {
        return ns / 1e6;
    }

    private static double us(long ns) {
        return ns / 1e3;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
