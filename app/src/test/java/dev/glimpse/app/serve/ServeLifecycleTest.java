package dev.glimpse.app.serve;

import dev.glimpse.kernels.cuda.CudaException;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.generate.StopReason;
import dev.glimpse.vlmruntime.warmup.ServeWarmup;
import dev.glimpse.vlmruntime.warmup.WarmupSettings;
import dev.glimpse.vlmruntime.warmup.WarmupTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ServeLifecycle} with the real {@link ServeWarmup} against a test model whose warm-up requests the test
 * controls: a request failing with a CUDA error stops the server with exit status 1 and one error line, never ready;
 * one the model refuses (a budget) is skipped and the server goes ready; a stop (what SIGTERM's shutdown hook runs)
 * while a warm-up request is held waits for that request before the model closes, and the server stops, never ready.
 * Throughout, {@code GET /readyz} is polled; stderr (warnings and errors, as the tests log) must hold no stack trace.
 */
class ServeLifecycleTest {

    private static final String STICKY = "cudaStreamSynchronize failed: cudaErrorIllegalAddress (700): an illegal "
            + "memory access was encountered";

    private final Readiness readiness = Readiness.warming(Duration.ofSeconds(120));
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final List<Integer> readyzStatuses = new CopyOnWriteArrayList<>();
    private PrintStream originalErr;
    private CaptionServer server;
    private Thread poller;

    @BeforeEach
    void startWarming() throws IOException, InterruptedException {
        originalErr = System.err;
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        Captioner unreachable = WarmingServerSupport.unreachable("a caption reached the model during the warm-up");
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), unreachable, Map.of(),
                new ServeLimits(1 << 20, 1, 1, 8, 16, Duration.ofSeconds(5)), readiness);
        int port = server.address().getPort();
        CountDownLatch polled = new CountDownLatch(1);
        poller = Thread.ofPlatform().daemon().name("readyz-poller").start(() -> WarmingServerSupport.pollUntilRefused(
                URI.create("http://127.0.0.1:" + port + "/readyz"), readyzStatuses, polled));
        assertTrue(polled.await(30, TimeUnit.SECONDS), "/readyz never answered");
    }

    @AfterEach
    void restore() throws InterruptedException {
        poller.interrupt();
        poller.join(5_000);
        server.stop();
        System.setErr(originalErr);
    }

    /** A warm-up model: each request is handed to {@code answer}; records asks, answers and its close. */
    private static final class TestModel implements WarmupTarget, AutoCloseable {
        final List<String> events = new CopyOnWriteArrayList<>();
        final Function<AskOptions, Answer> answer;
        final RuntimeException closeFailure;

        TestModel(Function<AskOptions, Answer> answer, RuntimeException closeFailure) {
            this.answer = answer;
            this.closeFailure = closeFailure;
        }

        @Override
        public Answer ask(Media media, String question, AskOptions options) {
            events.add("ask");
            Answer a = answer.apply(options);
            events.add("answered");
            return a;
        }

        @Override
        public int imageSize() {
            return 8;
        }

        @Override
        public int vocabSize() {
            return 16;
        }

        @Override
        public int textTokens(String text) {
            return text.split(" ").length;
        }

        @Override
        public boolean graphsPrefillOf(int rows) {
            return false;
        }

        @Override
        public void close() {
            events.add("closed");
            if (closeFailure != null) {
                throw closeFailure;
            }
        }
    }

    private static Answer answer() {
        return new Answer("", new int[] {1}, StopReason.EOS, new Answer.TokenCounts(40, 1, List.of()), null, null, null);
    }

    private static WarmupSettings settings(List<Integer> budgets) {
        return new WarmupSettings(Duration.ofSeconds(120), CaptionFields.DEFAULT_IMAGE_PROMPT, WarmupSettings.DEFAULT_PRUNE,
                budgets, 0, 8);
    }

    private ServeLifecycle lifecycle(TestModel model) {
        return new ServeLifecycle(server, readiness, model, Duration.ofSeconds(30));
    }

    private static CompletableFuture<Integer> warmUpThenServe(ServeLifecycle lifecycle, TestModel model,
                                                              WarmupSettings settings) {
        return warmUpThenServe(lifecycle, stop -> ServeWarmup.run(model, settings, stop));
    }

    /** {@link ServeLifecycle#warmUpThenServe} on its own thread, as serve's main thread runs it; its exit status. */
    private static CompletableFuture<Integer> warmUpThenServe(ServeLifecycle lifecycle, ServeLifecycle.Warmup warmup) {
        CompletableFuture<Integer> status = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("serve-main").start(() -> status.complete(lifecycle.warmUpThenServe(warmup)));
        return status;
    }

    @Test
    void aWarmupRequestFailingWithACudaErrorStopsTheServerWithExitStatus1NeverReady() throws Exception {
        TestModel model = new TestModel(options -> {
            throw new CudaException(STICKY);
        }, new CudaException("cudaFree failed: cudaErrorIllegalAddress (700)"));
        ServeLifecycle lifecycle = lifecycle(model);
        int status = warmUpThenServe(lifecycle, model, settings(List.of(64))).get(30, TimeUnit.SECONDS);
        assertEquals(ServeLifecycle.WARMUP_FAILED, status);
        assertEquals(List.of("ask", "closed"), model.events, "the model is closed once the warm-up failed");
        ServeAdmissionAndShutdownTest.awaitRefused(server.address().getPort(), 10);
        long t0 = System.nanoTime();
        lifecycle.stop();
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "the shutdown hook's stop returns at once");
        assertEquals(List.of("ask", "closed"), model.events, "the hook's stop closes nothing twice");
        assertNeverReady();
        String log = log();
        List<String> errors = log.lines().filter(l -> l.contains("warm-up failed, not serving")).toList();
        assertEquals(1, errors.size(), log);
        assertTrue(errors.getFirst().contains(STICKY) && errors.getFirst().contains("exit status 1"), errors.getFirst());
        assertTrue(log.contains("closing the model failed: "), log);
        assertNoStackTrace(log);
    }

    @Test
    void anErrorOutOfTheWarmupItselfIsFatalToo() throws Exception {
        TestModel model = new TestModel(options -> answer(), null);
        ServeLifecycle lifecycle = lifecycle(model);
        int status = warmUpThenServe(lifecycle, stop -> {
            throw new IllegalStateException("the tokenizer is gone");
        }).get(30, TimeUnit.SECONDS);
        assertEquals(ServeLifecycle.WARMUP_FAILED, status);
        assertEquals(List.of("closed"), model.events);
        assertNeverReady();
        assertTrue(log().contains("warm-up failed, not serving: java.lang.IllegalStateException: the tokenizer is gone"),
                log());
        assertNoStackTrace(log());
    }

    @Test
    void aBudgetTheModelRefusesIsSkippedAndTheServerGoesReady() throws Exception {
        TestModel model = new TestModel(options -> {
            if (!options.pruning().isEmpty()) {
                throw new IllegalArgumentException("cannot prune to 64 tokens");
            }
            return answer();
        }, null);
        ServeLifecycle lifecycle = lifecycle(model);
        CompletableFuture<Integer> status = warmUpThenServe(lifecycle, model, settings(List.of(64)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!readiness.isReady() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(readiness.isReady(), log());
        assertFalse(status.isDone(), "serving until stopped");
        lifecycle.stop();
        assertEquals(ServeLifecycle.STOPPED, status.get(30, TimeUnit.SECONDS));
        assertEquals("closed", model.events.getLast());
        assertTrue(log().contains("warm-up: vtc-cls 64 skipped: cannot prune to 64 tokens"), log());
        assertNoStackTrace(log());
    }

    /** What SIGTERM runs (the shutdown hook's {@link ServeLifecycle#stop}) while a warm-up request holds the model. */
    @Test
    void aStopDuringAWarmupRequestWaitsForItThenClosesTheModelNeverReady() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        TestModel model = new TestModel(options -> {
            entered.countDown();
            try {
                assertTrue(release.await(60, TimeUnit.SECONDS), "the test never released the warm-up request");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return answer();
        }, null);
        ServeLifecycle lifecycle = lifecycle(model);
        CompletableFuture<Integer> status = warmUpThenServe(lifecycle, model, settings(List.of(64)));
        assertTrue(entered.await(30, TimeUnit.SECONDS), log());
        CompletableFuture<Void> stopping = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("glimpse-serve-shutdown").start(() -> {
            lifecycle.stop();
            stopping.complete(null);
        });
        ServeAdmissionAndShutdownTest.awaitRefused(server.address().getPort(), 10);
        Thread.sleep(300);
        assertFalse(stopping.isDone(), "the stop waits for the warm-up request running");
        assertEquals(List.of("ask"), model.events, "the model stays open under the running warm-up request");
        long t0 = System.nanoTime();
        release.countDown();
        stopping.get(10, TimeUnit.SECONDS);
        assertEquals(ServeLifecycle.STOPPED, status.get(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "stopped within 10 s of the request's end");
        assertEquals(List.of("ask", "answered", "closed"), model.events,
                "no warm-up request after the stop; the model closed after the one running");
        assertNeverReady();
        assertNoStackTrace(log());
    }

    private void assertNeverReady() throws InterruptedException {
        poller.join(10_000);
        assertFalse(readiness.isReady());
        assertFalse(readyzStatuses.isEmpty(), "/readyz was polled");
        assertFalse(readyzStatuses.contains(200), "/readyz said ready: " + readyzStatuses);
    }

    private String log() {
        return stderr.toString(StandardCharsets.UTF_8);
    }

    private static void assertNoStackTrace(String log) {
        assertFalse(log.contains("\tat ") || log.contains("Exception in thread"), log);
    }
}
