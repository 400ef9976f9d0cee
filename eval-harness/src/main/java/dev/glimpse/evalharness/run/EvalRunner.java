package dev.glimpse.evalharness.run;

import dev.glimpse.evalharness.metrics.AnswerMatcher;
import dev.glimpse.evalharness.synth.SynthItem;
import dev.glimpse.evalharness.synth.SynthQuestion;
import dev.glimpse.vlmruntime.api.Media;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs every (configuration, question) pair not already in the results log: items in order, each
 * item's media made once and asked under every configuration, each answer scored and appended
 * to the log at once. A killed run restarted on the same log redoes only what is missing.
 */
public final class EvalRunner {

    private static final Logger LOG = LoggerFactory.getLogger(EvalRunner.class);

    /** Hears each pair as it completes. */
    @FunctionalInterface
    public interface Progress {
        void step();
    }

    private final Answerer answerer;
    private final MediaCache media;

    public EvalRunner(Answerer answerer, MediaCache media) {
        this.answerer = answerer;
        this.media = media;
    }

    /** Pairs of {@code items} x {@code configs} that {@code log} lacks. */
    public static long pending(List<SynthItem> items, List<EvalConfig> configs, ResultsLog log) {
        Set<String> done = doneKeys(log);
        long n = 0;
        for (SynthItem item : items) {
            for (EvalConfig c : configs) {
                for (SynthQuestion q : item.questions()) {
                    n += done.contains(c.key() + "\t" + q.id()) ? 0 : 1;
                }
            }
        }
        return n;
    }

    /**
     * Runs the missing pairs, appending each to {@code log}.
     *
     * @return pairs run now
     */
    public long run(List<SynthItem> items, List<EvalConfig> configs, ResultsLog log, Progress progress)
            throws IOException {
        Set<String> done = doneKeys(log);
        long ran = 0;
        for (SynthItem item : items) {
            Media m = null;
            for (EvalConfig c : configs) {
                for (SynthQuestion q : item.questions()) {
                    if (done.contains(c.key() + "\t" + q.id())) {
                        continue;
                    }
                    if (m == null) {
                        m = media.media(item);
                    }
                    Outcome o = ask(m, q, c);
                    boolean correct = AnswerMatcher.correct(o.text(), q.answer(), q.type().yesNo());
                    log.append(new ResultRow(c.key(), q.id(), item instanceof SynthItem.ClipItem ? "clip" : "image",
                            q.type(), q.text(), q.answer(), o.text(), correct, o.visualTokens(), o.visualTokensKept(),
                            o.flopsRatio(), o.latencyMs()), c);
                    ran++;
                    progress.step();
                }
            }
        }
        LOG.info("ran {} question-configuration pairs", ran);
        return ran;
    }

    private Outcome ask(Media m, SynthQuestion q, EvalConfig c) {
        try {
            return answerer.answer(m, q.text(), c);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("configuration " + c.key() + ", question " + q.id() + ": "
                    + e.getMessage(), e);
        }
    }

    private static Set<String> doneKeys(ResultsLog log) {
        Set<String> done = new HashSet<>();
        log.rows().forEach(r -> done.add(r.key()));
        return done;
    }
}
