package dev.glimpse.evalharness.run;

import dev.glimpse.evalharness.synth.QuestionType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Aggregates of one configuration over the questions of a run.
 *
 * @param config           the configuration
 * @param questions        questions answered
 * @param correct          questions answered correctly
 * @param perType          per question type: {answered, correct}
 * @param visualTokens     mean unpruned visual tokens
 * @param visualTokensKept mean visual tokens kept (each answer's mean over decoder layers)
 * @param keptShare        mean of kept / unpruned
 * @param flopsRatio       mean prefill FLOPs ratio
 * @param latencyMs        mean latency
 */
public record ConfigSummary(EvalConfig config, int questions, int correct, Map<QuestionType, int[]> perType,
                            double visualTokens, double visualTokensKept, double keptShare, double flopsRatio,
                            double latencyMs) {

    public double accuracy() {
        return questions == 0 ? 0 : (double) correct / questions;
    }

    /** The accuracy on {@code type}, or NaN when the run had none. */
    public double accuracy(QuestionType type) {
        int[] c = perType.get(type);
        return c == null || c[0] == 0 ? Double.NaN : (double) c[1] / c[0];
    }

    /**
     * One summary per configuration, in order, over the rows of the given configurations and
     * questions ({@code questionIds}); rows of other runs in the same log are left out.
     */
    public static List<ConfigSummary> of(Collection<ResultRow> rows, List<EvalConfig> configs, Set<String> questionIds) {
        List<ConfigSummary> out = new ArrayList<>();
        for (EvalConfig c : configs) {
            List<ResultRow> mine = rows.stream()
                    .filter(r -> r.config().equals(c.key()) && questionIds.contains(r.id())).toList();
            Map<QuestionType, int[]> perType = new EnumMap<>(QuestionType.class);
            int correct = 0;
            for (ResultRow r : mine) {
                int[] t = perType.computeIfAbsent(r.type(), k -> new int[2]);
                t[0]++;
                if (r.correct()) {
                    t[1]++;
                    correct++;
                }
            }
            out.add(new ConfigSummary(c, mine.size(), correct, perType,
                    mean(mine, ResultRow::visualTokens), mean(mine, ResultRow::visualTokensKept),
                    mean(mine, ResultRow::keptShare), mean(mine, ResultRow::flopsRatio),
                    mean(mine, ResultRow::latencyMs)));
        }
        return out;
    }

    private static double mean(List<ResultRow> rows, ToDoubleFunction<ResultRow> f) {
        return rows.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
