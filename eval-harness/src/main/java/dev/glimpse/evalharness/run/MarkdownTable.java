package dev.glimpse.evalharness.run;

import dev.glimpse.evalharness.synth.QuestionType;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The results table: one row per configuration with its accuracy overall and per question type
 * (types the run had), mean visual tokens kept (absolute and as a share of unpruned), mean
 * prefill FLOPs ratio and mean latency.
 */
public final class MarkdownTable {

    private MarkdownTable() {
    }

    /** The table under {@code heading} lines (written as given, e.g. "# title" and notes). */
    public static String render(List<String> heading, List<ConfigSummary> summaries) {
        Set<QuestionType> types = EnumSet.noneOf(QuestionType.class);
        summaries.forEach(s -> types.addAll(s.perType().keySet()));
        StringBuilder sb = new StringBuilder();
        heading.forEach(h -> sb.append(h).append('\n'));
        sb.append('\n');
        sb.append("| strategy | budget | questions | accuracy |");
        types.forEach(t -> sb.append(' ').append(t.key()).append(" |"));
        sb.append(" visual tokens kept | kept % | prefill FLOPs ratio | latency ms |\n");
        sb.append("|---|---|---:|---:|");
        types.forEach(t -> sb.append("---:|"));
        sb.append("---:|---:|---:|---:|\n");
        for (ConfigSummary s : summaries) {
            sb.append("| ").append(s.config().prune())
                    .append(s.config().positions() == null ? "" : " (" + s.config().positions().key() + " positions)")
                    .append(" | ")
                    .append(s.config().budget() == null ? "-" : s.config().budget()).append(" | ")
                    .append(s.questions()).append(" | ").append(percent(s.accuracy(), s.questions())).append(" |");
            for (QuestionType t : types) {
                int[] c = s.perType().get(t);
                sb.append(' ').append(percent(s.accuracy(t), c == null ? 0 : c[0])).append(" |");
            }
            sb.append(' ').append(number(s.visualTokensKept(), 1)).append(" | ")
                    .append(s.questions() == 0 ? "-" : number(100 * s.keptShare(), 1)).append(" | ")
                    .append(number(s.flopsRatio(), 3)).append(" | ")
                    .append(number(s.latencyMs(), 1)).append(" |\n");
        }
        return sb.toString();
    }

    private static String percent(double v, int n) {
        return n == 0 || Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    private static String number(double v, int decimals) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
