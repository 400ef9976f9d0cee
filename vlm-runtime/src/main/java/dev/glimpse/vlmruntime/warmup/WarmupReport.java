package dev.glimpse.vlmruntime.warmup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a {@link ServeWarmup} did.
 *
 * @param outcome  how it ended
 * @param detail   why it ended early (empty when complete)
 * @param buckets  the prefill row buckets it warmed, in order
 * @param requests synthetic requests it ran (the decode warm-up included)
 * @param nanos    wall-clock time it took
 */
public record WarmupReport(Outcome outcome, String detail, List<Bucket> buckets, int requests, long nanos) {

    public WarmupReport {
        buckets = List.copyOf(buckets);
    }

    /** How a warm-up ended. */
    public enum Outcome {
        /** Every planned bucket was warmed. */
        COMPLETE("complete"),
        /** Its time bound passed first. */
        BOUND("cut short at its bound"),
        /** The server was stopped first. */
        STOPPED("stopped"),
        /**
         * A request failed (not for a budget the model cannot prune to, which is skipped): the rest was left out, and
         * the model may be unusable (serve stops with exit status 1).
         */
        FAILED("failed");

        private final String phrase;

        Outcome(String phrase) {
            this.phrase = phrase;
        }

        /** How the log says it: "warm-up complete in ...", "warm-up cut short at its bound in ...". */
        public String phrase() {
            return phrase;
        }
    }

    /** What warming one bucket left behind. */
    public enum Kind {
        /**
         * Two requests: the first ran op by op over the bucket's rows (cuBLASLt measured their products), the second
         * captured the prefill graph; a request of the bucket now replays it.
         */
        GRAPH,
        /**
         * One request: cuBLASLt measured the products of the bucket's power-of-two row bucket; no graph (a later
         * prefill of the bucket captures one, or, where prefills replay no graph, runs op by op as measured).
         */
        SEARCH
    }

    /**
     * One warmed bucket.
     *
     * @param setting      the visual setting ({@code full} or the pruning and budget)
     * @param promptTokens the prompt length that warmed it
     * @param rows         the rows its prefill runs: the prompt padded to the graph quantum
     * @param kind         what it left behind
     */
    public record Bucket(String setting, int promptTokens, int rows, Kind kind) {
    }

    /** The rows of the buckets warmed as {@code kind}, in order. */
    public List<Integer> rows(Kind kind) {
        return buckets.stream().filter(b -> b.kind() == kind).map(Bucket::rows).toList();
    }

    /** One line for the log: outcome, time, requests, and the rows per setting. */
    public String summary() {
        StringBuilder out = new StringBuilder("warm-up ").append(outcome.phrase())
                .append(String.format(Locale.ROOT, " in %.1f s, %d requests", nanos / 1e9, requests));
        if (!detail.isEmpty()) {
            out.append(" (").append(detail).append(')');
        }
        out.append(": prefill graphs for ").append(rows(Kind.GRAPH).size()).append(" row buckets");
        appendRows(out, Kind.GRAPH);
        List<Integer> searched = rows(Kind.SEARCH);
        if (!searched.isEmpty()) {
            out.append(", cuBLASLt measured also at");
            appendRows(out, Kind.SEARCH);
        }
        return out.toString();
    }

    private void appendRows(StringBuilder out, Kind kind) {
        Map<String, List<Integer>> bySetting = new LinkedHashMap<>();
        for (Bucket b : buckets) {
            if (b.kind() == kind) {
                bySetting.computeIfAbsent(b.setting(), s -> new ArrayList<>()).add(b.rows());
            }
        }
        if (bySetting.isEmpty()) {
            return;
        }
        out.append(bySetting.entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue().stream().map(String::valueOf).collect(Collectors.joining(", ")))
                .collect(Collectors.joining("; ", " (", " rows)")));
    }
}
