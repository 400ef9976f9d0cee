package dev.glimpse.kernels.cuda.timeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The summarizer of a recorded timeline file ({@link TimelineFile}):
 * {@code java -cp ... dev.glimpse.kernels.cuda.timeline.TimelineReport <timeline.json> [--layer-start REGEX]}
 * prints, per pass, one {@code cuda_timeline} JSON line and the {@link PassSummary#table() table}
 * (per layer: kernel time, gap time, span; per kernel position: mean, least and most time and the
 * gap after it; the pass's kernel and gap sums against its wall time). {@code --layer-start} names
 * a layer's first kernel when the automatic split starts the blocks one kernel off.
 */
public final class TimelineReport {

    private TimelineReport() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1 && !(args.length == 3 && args[1].equals("--layer-start"))) {
            System.err.println("usage: TimelineReport <timeline.json> [--layer-start REGEX]");
            System.exit(2);
        }
        Pattern layerStart = args.length == 3 ? Pattern.compile(args[2]) : null;
        print(TimelineFile.read(Path.of(args[0])), layerStart, System.out);
    }

    /** The JSON line and the table of each pass, in order. */
    public static void print(List<PassTimeline> passes, Pattern layerStart, PrintStream out) {
        for (PassTimeline pass : passes) {
            PassSummary summary = PassSummary.of(pass, layerStart);
            out.println(summary.json());
            summary.table().forEach(out::println);
        }
    }
}
