package dev.glimpse.vlmruntime.warmup;

import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.stream.IntStream;

/**
 * Warms a serving process up before it reports ready: synthetic requests (a blank image of the tower's size, the
 * server's default question lengthened by filler tokens) that leave behind what the first real request of each
 * prompt length would otherwise pay for inside its time to first token, while holding the model.
 *
 * <p>What keys that work, and so what the warm-up must hit: a decoder prefill replays a CUDA graph per row bucket
 * (the prompt's rows padded to a multiple of {@value DecoderSession#PREFILL_PAD_ROWS_PROPERTY}; exact rows when
 * that is 0), held by the pooled session buffers; per key the first prefill runs op by op and the second captures
 * ({@code PrefillGraphs}), so each graph bucket takes two requests (one where prefills replay no graph: the CPU, the
 * prefill-graph switch off or past its rows; reported as measured only). The op-by-op run's products, over the padded
 * rows, are where cuBLASLt measures its algorithm, once per power-of-two row bucket
 * ({@link CudaBackend#ltRowBucket}; 0.2-0.4 s per product on the H200 when no earlier process stored the choice).
 * The vision tower's graph is keyed by the image count, which every request here (one image) warms.
 *
 * <p>The plan, per visual setting (the full visual token count, then each budget of the settings with their
 * pruning, largest first): the graph buckets from the default question's prompt up to
 * {@link WarmupSettings#questionTokens} more, nearest first, taken in turn across the settings, at most
 * {@value DecoderSession#PREFILL_GRAPHS_HELD} in all (what the pooled set holds; more would push the first out);
 * then one request for each cuBLASLt row bucket of that span not measured yet; then one short greedy request of
 * {@value #DECODE_TOKENS} tokens, whose decode steps load the decode kernels and capture a step graph.
 *
 * <p>A question lengthened by n tokens carries the fewest repeats of {@link #FILLER} the tokenizer counts as n
 * more tokens (at least one each). Every request stops after its first token (every token id ends it) but asks
 * for the KV capacity a real request of its setting with the default {@code max_new_tokens} and the longest warmed question needs, the first
 * one (the full visual count) the largest: the pooled session buffers, which real requests of at most that
 * capacity take as they are, are allocated once, and the graphs captured on them stay. A request that asks for
 * more (a longer question, more new tokens) moves to a larger capacity bucket and its set, whose graphs it
 * captures anew, still without measuring (cuBLASLt's choices are the process's). Video requests, whose tower and
 * prompt shapes follow their frame counts, and other image shapes on models that tile them (OneVision's anyres)
 * are not covered.
 *
 * <p>A budget the model cannot prune to (an {@link IllegalArgumentException} from the request: a request-level
 * refusal) is logged and skipped; any other exception from a request ends the warm-up as
 * {@link WarmupReport.Outcome#FAILED}, naming it in the report's detail (its stack trace logged at debug only), which
 * a server takes as fatal: the model may be unusable after it (a sticky CUDA error). Before each request the time
 * bound and the stop signal are checked; a request that fails once the stop signal is set ends it as stopped.
 * Progress goes to the log at info, one line per request.
 */
public final class ServeWarmup {

    /** Tokens the closing decode warm-up generates: an eager step, a captured one, replays ahead. */
    static final int DECODE_TOKENS = 4;
    /** Row step between warmed prompt lengths when prefills are not padded (exact rows). */
    static final int EXACT_ROWS_STEP = 16;
    /**
     * What lengthens the question: one token per repeat for the tokenizers of the usual checkpoints (SentencePiece's
     * "▁the", byte-level BPE's " the"); other tokenizers are measured ({@link #fillerFor}).
     */
    static final String FILLER = " the";

    private static final Logger LOG = LoggerFactory.getLogger(ServeWarmup.class);

    private final WarmupTarget target;
    private final WarmupSettings settings;
    private final BooleanSupplier stop;
    private final LongSupplier clock;
    private final int quantum;
    private final int step;
    private final Media image;
    private final List<Integer> everyToken;
    private final List<WarmupReport.Bucket> buckets = new ArrayList<>();
    private final Set<Integer> graphRows = new HashSet<>();
    private final Set<Integer> searchedRows = new HashSet<>();
    private final Set<Integer> measuredRowBuckets = new HashSet<>();
    private final long start;
    private int requests;
    private WarmupReport.Outcome ended;
    private String detail = "";

    /** One visual setting and the prompt length of the default question under it, once a request told it. */
    private static final class Visual {
        final String label;
        final PruningPlan plan;
        int basePrompt = -1;
        boolean skipped;
        boolean spanDone;

        Visual(String label, PruningPlan plan) {
            this.label = label;
            this.plan = plan;
        }
    }

    ServeWarmup(WarmupTarget target, WarmupSettings settings, BooleanSupplier stop, LongSupplier clock) {
        this.target = target;
        this.settings = settings;
        this.stop = stop;
        this.clock = clock;
        this.quantum = DecoderSession.prefillPadQuantum();
        this.step = quantum > 0 ? quantum : EXACT_ROWS_STEP;
        this.image = Media.image(RgbImage.black(target.imageSize(), target.imageSize()));
        this.everyToken = IntStream.range(0, target.vocabSize()).boxed().toList();
        this.start = clock.getAsLong();
    }

    /**
     * Runs the warm-up on {@code target} (holding it for the whole time, request after request) until the plan is
     * done, the settings' bound has passed or {@code stop} says so.
     */
    public static WarmupReport run(WarmupTarget target, WarmupSettings settings, BooleanSupplier stop) {
        return new ServeWarmup(target, settings, stop, System::nanoTime).run();
    }

    WarmupReport run() {
        LOG.info("warm-up: prefill rows {}, questions up to {} tokens past the default, the full visual count and "
                        + "budgets {} ({}), at most {} s", quantum > 0 ? "padded to multiples of " + quantum : "exact",
                settings.questionTokens(), settings.budgets(), settings.prune(), settings.bound().toSeconds());
        List<Visual> visuals = visuals();
        graphs(visuals);
        searches(visuals);
        decode(visuals);
        WarmupReport report = new WarmupReport(ended == null ? WarmupReport.Outcome.COMPLETE : ended, detail, buckets,
                requests, clock.getAsLong() - start);
        LOG.info(report.summary());
        return report;
    }

    /** The full visual count, then the budgets largest first (a larger prompt first: its capacity holds the rest). */
    private List<Visual> visuals() {
        List<Visual> visuals = new ArrayList<>();
        visuals.add(new Visual("full", PruningPlan.none()));
        for (int budget : new TreeSet<>(settings.budgets()).descendingSet()) {
            String label = settings.prune() + " " + budget;
            try {
                visuals.add(new Visual(label, PruningPlan.parse(settings.prune(), new TokenBudget.Count(budget))));
            } catch (IllegalArgumentException e) {
                LOG.warn("warm-up: {} skipped: {}", label, e.getMessage());
            }
        }
        return visuals;
    }

    /** Graph buckets, nearest first, in turn across the settings, up to the graphs a pooled set holds. */
    private void graphs(List<Visual> visuals) {
        for (int k = 0; ended == null; k++) {
            boolean planned = false;
            for (Visual v : visuals) {
                if (graphRows.size() >= DecoderSession.PREFILL_GRAPHS_HELD || ended != null) {
                    return;
                }
                if (v.skipped || v.spanDone) {
                    continue;
                }
                planned = true;
                if (k == 0) {
                    int prompt = ask(v, 0, "graph, op by op");
                    if (prompt < 0) {
                        continue;
                    }
                    v.basePrompt = prompt;
                    captureUnlessHeld(v, prompt, 0);
                    continue;
                }
                int length = bucketStart(v.basePrompt, k);
                if (length - v.basePrompt > settings.questionTokens()) {
                    v.spanDone = true;
                    continue;
                }
                if (graphRows.contains(rows(length)) || searchedRows.contains(rows(length))) {
                    continue;
                }
                int filler = fillerFor(length - v.basePrompt);
                int prompt = ask(v, filler, "graph, op by op");
                if (prompt >= 0) {
                    captureUnlessHeld(v, prompt, filler);
                }
            }
            if (!planned) {
                return;
            }
        }
    }

    /**
     * The second request of a graph bucket, which captures it, unless another setting's prompt warmed those rows;
     * where such a prefill replays no graph (the CPU, the switch off or past its rows) the bucket was measured by
     * the first request and is reported so.
     */
    private void captureUnlessHeld(Visual v, int prompt, int filler) {
        int rows = rows(prompt);
        if (graphRows.contains(rows) || searchedRows.contains(rows)) {
            return;
        }
        if (!target.graphsPrefillOf(rows)) {
            searchedRows.add(rows);
            buckets.add(new WarmupReport.Bucket(v.label, prompt, rows, WarmupReport.Kind.SEARCH));
            return;
        }
        int again = ask(v, filler, "graph, capture");
        if (again < 0) {
            return;
        }
        if (rows(again) != rows) {
            LOG.warn("warm-up: the same request gave {} then {} prompt tokens; {} rows not counted as warmed", prompt,
                    again, rows);
            return;
        }
        graphRows.add(rows);
        buckets.add(new WarmupReport.Bucket(v.label, prompt, rows, WarmupReport.Kind.GRAPH));
    }

    /** One request for each cuBLASLt row bucket of a setting's span that no request measured yet. */
    private void searches(List<Visual> visuals) {
        for (Visual v : visuals) {
            if (v.skipped || v.basePrompt < 0) {
                continue;
            }
            int last = CudaBackend.ltRowBucket(rows(v.basePrompt + settings.questionTokens()));
            for (int bucket = CudaBackend.ltRowBucket(rows(v.basePrompt)); bucket <= last; bucket *= 2) {
                if (ended != null) {
                    return;
                }
                if (v.skipped) {
                    break;
                }
                int length = Math.max(v.basePrompt, bucket / 2 + 1);
                if (measuredRowBuckets.contains(bucket) || length - v.basePrompt > settings.questionTokens()) {
                    continue;
                }
                int prompt = ask(v, fillerFor(length - v.basePrompt), "cuBLASLt search");
                if (prompt >= 0 && !graphRows.contains(rows(prompt)) && searchedRows.add(rows(prompt))) {
                    buckets.add(new WarmupReport.Bucket(v.label, prompt, rows(prompt), WarmupReport.Kind.SEARCH));
                }
            }
        }
    }

    /** A short greedy request on the smallest setting warmed: its decode steps run eagerly, capture and replay. */
    private void decode(List<Visual> visuals) {
        for (Visual v : visuals.reversed()) {
            if (ended == null && !v.skipped && v.basePrompt >= 0) {
                request(v, 0, DECODE_TOKENS, GenerationOptions.greedy(DECODE_TOKENS), "decode steps");
                return;
            }
        }
    }

    /**
     * One request of setting {@code v} with {@code filler} repeats of {@link #FILLER} after the default question,
     * stopped after its first token, asking for the capacity of the setting's longest warmed prompt plus the default
     * new tokens (the prompt's own tokens counted by the tokenizer); returns its prompt tokens, or -1 when it did not
     * run or was skipped.
     */
    private int ask(Visual v, int filler, String what) {
        int maxNew = Math.max(1, settings.maxNewTokens() + settings.questionTokens() + step - fillerTokens(filler));
        return request(v, filler, maxNew, GenerationOptions.greedy(maxNew).withEosTokenIds(everyToken), what);
    }

    /** The fewest repeats of {@link #FILLER} that lengthen the question by at least {@code tokens} tokens. */
    private int fillerFor(int tokens) {
        int lo = 0;
        int hi = tokens;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (fillerTokens(mid) >= tokens) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** Tokens {@code filler} repeats of {@link #FILLER} add to the question (its tokenization in context). */
    private int fillerTokens(int filler) {
        return filler == 0 ? 0
                : target.textTokens(settings.question() + FILLER.repeat(filler)) - target.textTokens(settings.question());
    }

    private int request(Visual v, int filler, int maxNew, GenerationOptions generation, String what) {
        long elapsed = clock.getAsLong() - start;
        if (stop.getAsBoolean()) {
            end(WarmupReport.Outcome.STOPPED, "the server is stopping");
            return -1;
        }
        if (elapsed >= settings.bound().toNanos()) {
            end(WarmupReport.Outcome.BOUND, "its bound of " + settings.bound().toSeconds() + " s passed");
            return -1;
        }
        AskOptions options = new AskOptions(maxNew, Optional.of(generation), v.plan, Optional.empty(), Optional.empty());
        Answer answer;
        try {
            answer = target.ask(image, settings.question() + FILLER.repeat(filler), options);
        } catch (IllegalArgumentException e) {
            LOG.warn("warm-up: {} skipped: {}", v.label, e.getMessage());
            v.skipped = true;
            return -1;
        } catch (RuntimeException e) {
            if (stop.getAsBoolean()) {
                end(WarmupReport.Outcome.STOPPED, "the server is stopping");
                return -1;
            }
            LOG.debug("warm-up: the failed request's stack trace", e);
            end(WarmupReport.Outcome.FAILED, "a request (" + v.label + ", " + what + ") failed: " + e);
            return -1;
        }
        requests++;
        int prompt = answer.counts().prompt();
        int rows = rows(prompt);
        measuredRowBuckets.add(CudaBackend.ltRowBucket(rows));
        LOG.info("warm-up request {}: {}, {} prompt tokens ({} rows), {}, {} ms after start", requests, v.label, prompt,
                rows, what, (clock.getAsLong() - start) / 1_000_000);
        return prompt;
    }

    private void end(WarmupReport.Outcome outcome, String why) {
        ended = outcome;
        detail = why;
    }

    /** The rows a prefill of {@code prompt} tokens runs: padded up to the quantum (exact when it is 0). */
    private int rows(int prompt) {
        return quantum > 0 ? (prompt + quantum - 1) / quantum * quantum : prompt;
    }

    /** The shortest prompt of the {@code k}-th bucket past the one of {@code base} tokens. */
    private int bucketStart(int base, int k) {
        return quantum > 0 ? rows(base) + 1 + (k - 1) * quantum : base + k * step;
    }
}
