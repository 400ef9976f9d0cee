package dev.glimpse.vlmruntime.warmup;

import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaException;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.generate.StopReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ServeWarmup} against a model that counts what it is asked: a prompt of 10 text tokens, one per filler
 * word, and 576 visual tokens (16 under a budget of 16, 64 under 64), whose prefill keys are the prompt's rows
 * padded to 16. The warm-up runs the graph keys it claims twice each, in a row (op by op, then capture), the
 * cuBLASLt row buckets it claims at least once, asks first for the largest capacity, stops at its bound or when
 * told, skips a budget the model refuses and ends as failed at any other failure of a request.
 */
class ServeWarmupTest {

    private static final int FULL = 576;
    private static final int TEXT = 10;

    private final SavedProperties saved = SavedProperties.of(DecoderSession.PREFILL_PAD_ROWS_PROPERTY);

    @BeforeEach
    void padTo16() {
        System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, "16");
    }

    @AfterEach
    void propertiesBack() {
        saved.close();
    }

    /** One request the fake model answered. */
    record Call(int prompt, int rows, int capacity, int maxNewTokens, boolean firstTokenOnly) {
    }

    /** Answers with a prompt length from the question and the budget; records each call; one fake second per call. */
    static class CountingModel implements WarmupTarget {
        final List<Call> calls = new ArrayList<>();
        final Set<Integer> refusedBudgets;
        long nanos;

        CountingModel(Set<Integer> refusedBudgets) {
            this.refusedBudgets = refusedBudgets;
        }

        @Override
        public Answer ask(Media media, String question, AskOptions options) {
            int visual = options.pruning().isEmpty() ? FULL
                    : ((TokenBudget.Count) options.pruning().budget()).tokensFor(FULL);
            if (refusedBudgets.contains(visual)) {
                throw new IllegalArgumentException("cannot prune to " + visual);
            }
            int prompt = TEXT + question.split(" ").length - 3 + visual;
            boolean firstOnly = options.generation().orElseThrow().eosTokenIds().size() == vocabSize();
            calls.add(new Call(prompt, (prompt + 15) / 16 * 16, prompt + options.maxNewTokens(), options.maxNewTokens(),
                    firstOnly));
            nanos += 1_000_000_000L;
            return new Answer("", new int[] {1}, StopReason.EOS, new Answer.TokenCounts(prompt, 1, List.of()), null,
                    null, null);
        }

        @Override
        public int imageSize() {
            return 8;
        }

        @Override
        public int vocabSize() {
            return 32;
        }

        @Override
        public int textTokens(String text) {
            return text.split(" ").length;
        }

        @Override
        public boolean graphsPrefillOf(int rows) {
            return true;
        }
    }

    private static WarmupSettings settings(long seconds, List<Integer> budgets, int questionTokens) {
        return new WarmupSettings(Duration.ofSeconds(seconds), "Describe the image.", "vtc-cls", budgets, questionTokens, 64);
    }

    private static WarmupReport run(CountingModel model, WarmupSettings settings, boolean stop) {
        return new ServeWarmup(model, settings, () -> stop, () -> model.nanos).run();
    }

    @Test
    void everyGraphBucketItClaimsRanTwiceInARowAndNothingElseRanTwice() {
        CountingModel model = new CountingModel(Set.of());
        WarmupReport report = run(model, settings(600, List.of(64), 96), false);
        assertEquals(WarmupReport.Outcome.COMPLETE, report.outcome(), report.summary());
        Map<Integer, List<Integer>> callsByRows = new LinkedHashMap<>();
        for (int i = 0; i < model.calls.size(); i++) {
            if (model.calls.get(i).firstTokenOnly()) {
                callsByRows.computeIfAbsent(model.calls.get(i).rows(), r -> new ArrayList<>()).add(i);
            }
        }
        List<Integer> graphs = report.rows(WarmupReport.Kind.GRAPH);
        assertEquals(DecoderSession.PREFILL_GRAPHS_HELD, graphs.size(), "as many graph buckets as a pooled set holds");
        for (int rows : graphs) {
            List<Integer> at = callsByRows.get(rows);
            assertEquals(2, at.size(), rows + " rows: op by op, then capture");
            assertEquals(at.get(0) + 1, at.get(1), rows + " rows: the capture right after the op-by-op run");
        }
        callsByRows.forEach((rows, at) -> assertTrue(graphs.contains(rows) || at.size() == 1,
                rows + " rows ran twice but are not claimed as a graph"));
        assertEquals(List.of(592, 80, 608, 96, 624, 112, 640, 128), graphs,
                "nearest buckets first, in turn: the full count (586 tokens), then the budget (74)");
        assertEquals(callsByRows.keySet().size(), report.buckets().size(), "every bucket run is reported");
        assertEquals(model.calls.size(), report.requests());
    }

    @Test
    void everyCublasLtRowBucketOfEachSpanIsMeasured() {
        CountingModel model = new CountingModel(Set.of());
        WarmupReport report = run(model, settings(600, List.of(64), 96), false);
        Set<Integer> measured = new TreeSet<>();
        model.calls.stream().filter(Call::firstTokenOnly).forEach(c -> measured.add(CudaBackend.ltRowBucket(c.rows())));
        for (int base : new int[] {TEXT + FULL, TEXT + 64}) {
            for (int prompt = base; prompt <= base + 96; prompt++) {
                int bucket = CudaBackend.ltRowBucket((prompt + 15) / 16 * 16);
                assertTrue(measured.contains(bucket), "prompt " + prompt + ": row bucket " + bucket + " not measured");
            }
        }
        assertEquals(List.of(144), report.rows(WarmupReport.Kind.SEARCH), "74 + 96 tokens reach the 256-row bucket");
    }

    @Test
    void theFirstRequestAsksForTheLargestCapacityAndTheLastDecodesAFewTokens() {
        CountingModel model = new CountingModel(Set.of());
        run(model, settings(600, List.of(16, 64), 96), false);
        int first = model.calls.getFirst().capacity();
        assertTrue(model.calls.stream().allMatch(c -> c.capacity() <= first), "later requests fit the first one's buffers");
        assertEquals(TEXT + FULL + 96 + 64 + 16, first, "the full count's longest warmed prompt plus 64 new tokens, and one quantum");
        Call last = model.calls.getLast();
        assertEquals(ServeWarmup.DECODE_TOKENS, last.maxNewTokens());
        assertTrue(!last.firstTokenOnly() && last.prompt() == TEXT + 16, "the decode request: smallest budget, default question");
        assertTrue(model.calls.subList(0, model.calls.size() - 1).stream().allMatch(Call::firstTokenOnly));
    }

    @Test
    void theBoundStopsItBeforeTheNextRequestAndOnlyFinishedBucketsAreClaimed() {
        CountingModel model = new CountingModel(Set.of());
        WarmupReport report = run(model, settings(5, List.of(64), 96), false);
        assertEquals(WarmupReport.Outcome.BOUND, report.outcome());
        assertEquals(5, model.calls.size(), "one fake second each: requests start at 0..4 s");
        assertEquals(List.of(592, 80), report.rows(WarmupReport.Kind.GRAPH), "the fifth request's bucket has no capture");
        assertTrue(report.summary().startsWith("warm-up cut short at its bound in 5.0 s, 5 requests"), report.summary());
    }

    @Test
    void aStopSignalEndsItBeforeAnyRequest() {
        CountingModel model = new CountingModel(Set.of());
        WarmupReport report = run(model, settings(600, List.of(64), 96), true);
        assertEquals(WarmupReport.Outcome.STOPPED, report.outcome());
        assertTrue(model.calls.isEmpty() && report.buckets().isEmpty());
    }

    /** A failure that is not a refused budget (here a CUDA error) ends the warm-up as failed, naming it: serve's fatal case. */
    @Test
    void aRequestFailingOtherwiseEndsItAsFailedNamingTheErrorAndAsksNothingMore() {
        CountingModel model = new CountingModel(Set.of()) {
            @Override
            public Answer ask(Media media, String question, AskOptions options) {
                if (calls.size() == 2) {
                    throw new CudaException("cudaGraphLaunch failed: cudaErrorLaunchFailure (719)");
                }
                return super.ask(media, question, options);
            }
        };
        WarmupReport report = run(model, settings(600, List.of(64), 96), false);
        assertEquals(WarmupReport.Outcome.FAILED, report.outcome(), report.summary());
        assertEquals(2, model.calls.size(), "no request after the failed one");
        assertEquals(2, report.requests());
        assertTrue(report.detail().contains("CudaException: cudaGraphLaunch failed: cudaErrorLaunchFailure (719)"),
                report.detail());
        assertTrue(report.summary().startsWith("warm-up failed in"), report.summary());
    }

    @Test
    void aBudgetTheModelRefusesIsSkippedAndTheOthersAreWarmed() {
        CountingModel model = new CountingModel(Set.of(64));
        WarmupReport report = run(model, settings(600, List.of(64, 16), 32), false);
        assertEquals(WarmupReport.Outcome.COMPLETE, report.outcome());
        assertTrue(report.buckets().stream().noneMatch(b -> b.setting().equals("vtc-cls 64")));
        assertEquals(List.of(592, 32, 608, 48, 624, 64), report.rows(WarmupReport.Kind.GRAPH),
                "spans of 32 tokens: 586..618 and 26..58");
    }
}
