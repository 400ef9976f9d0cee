package dev.glimpse.app.serve;

import dev.glimpse.vlmruntime.warmup.WarmupReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A listening server's life once its model is loaded: the warm-up, if any ({@link Readiness} warming meanwhile), then
 * ready until {@link #stop}, which SIGINT/SIGTERM runs from {@code serve}'s shutdown hook.
 *
 * <p>Which warm-up failures end the process: a warm-up request refused for a request-level reason (an
 * {@link IllegalArgumentException}, e.g. a budget the model cannot prune to) is logged and skipped inside
 * {@code ServeWarmup}, and the server still goes ready. Any other failure of a warm-up request
 * ({@link WarmupReport.Outcome#FAILED}) or of the warm-up itself (an exception or error out of it) is fatal: the
 * warm-up's requests are the server's own, of the shapes real requests take, so a failure of one says real requests
 * would fail too, and on a GPU it is most often a CUDA error that leaves the context unusable (an illegal address,
 * a failed launch: sticky, every later call fails too), which a {@code CudaException} does not tell apart from the
 * few that are not. Then {@code /readyz} never says ready: one error line is logged (the stack trace only at debug),
 * the server stops, the model is closed and {@link #warmUpThenServe} returns {@value #WARMUP_FAILED}, the process's
 * exit status.
 *
 * <p>{@link #stop} during the warm-up stops it after the request running: the listener closes at once, the warm-up
 * is waited for (at most {@link #warmupStopWait}) before the model closes, so its request finishes on an open model,
 * and the server never goes ready. A signal's process exits with the JVM's status for it (143 for SIGTERM, 130 for
 * SIGINT).
 */
final class ServeLifecycle {

    /** Exit status of {@code serve} after a fatal warm-up failure: the work failed ({@code UserErrors}' 1). */
    static final int WARMUP_FAILED = 1;
    /** Exit status {@link #serve} returns once stopped (under a signal the JVM exits with the signal's status). */
    static final int STOPPED = 0;

    private static final Logger log = LoggerFactory.getLogger(ServeLifecycle.class);

    /** The warm-up a server runs before it goes ready; it checks {@code stop} between its requests. */
    @FunctionalInterface
    interface Warmup {
        WarmupReport run(BooleanSupplier stop);
    }

    private final CaptionServer server;
    private final Readiness readiness;
    private final AutoCloseable model;
    private final Duration warmupStopWait;
    /** Set by {@link #stop}; its lock orders that against {@link #serve}'s going ready (never ready once stopping). */
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean stopBegun = new AtomicBoolean();
    private final CountDownLatch warmedUp = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);

    /**
     * @param server         the listening server
     * @param readiness      what {@code /readyz} says; marked ready by {@link #serve}
     * @param model          closed by {@link #stop}, after the warm-up returned
     * @param warmupStopWait how long {@link #stop} waits for a warm-up request already running
     */
    ServeLifecycle(CaptionServer server, Readiness readiness, AutoCloseable model, Duration warmupStopWait) {
        this.server = server;
        this.readiness = readiness;
        this.model = model;
        this.warmupStopWait = warmupStopWait;
    }

    /**
     * Runs {@code warmup}, then serves as {@link #serve} does; returns the exit status: {@value #STOPPED} once
     * stopped, {@value #WARMUP_FAILED} at once after a fatal warm-up failure (the server stopped, the model closed).
     */
    int warmUpThenServe(Warmup warmup) {
        String failure;
        try {
            WarmupReport report = warmup.run(stopping::get);
            failure = report.outcome() == WarmupReport.Outcome.FAILED ? report.detail() : null;
        } catch (RuntimeException | Error e) {
            log.debug("the warm-up's failure", e);
            failure = e.toString();
        } finally {
            warmedUp.countDown();
        }
        if (failure != null && !stopping.get()) {
            log.error("warm-up failed, not serving: {}. The model may be unusable (a CUDA error is most often sticky); "
                    + "stopping with exit status {} (--debug logs the stack trace)", failure, WARMUP_FAILED);
            stop();
            return WARMUP_FAILED;
        }
        return serve();
    }

    /** Marks the server ready and prints so, unless it is stopping; returns {@value #STOPPED} once {@link #stop} ran. */
    int serve() {
        warmedUp.countDown();
        synchronized (stopping) {
            if (!stopping.get()) {
                readiness.markReady();
                System.out.println("glimpse serve: ready");
                System.out.flush();
            }
        }
        awaitStopped();
        return STOPPED;
    }

    /**
     * Stops serving (what SIGINT/SIGTERM runs): refuses new connections and lets in-flight requests finish within
     * the grace period, waits for a warm-up request already running, then closes the model. Logs one line for
     * whatever fails on the way (a model whose device failed may fail to close), never a stack trace but at debug.
     * A second call (the shutdown hook after a fatal warm-up failure stopped the server) waits for the first.
     */
    void stop() {
        if (!stopBegun.compareAndSet(false, true)) {
            awaitStopped();
            return;
        }
        synchronized (stopping) {
            stopping.set(true);
        }
        try {
            server.stop();
            awaitWarmUp();
            closeModel();
            log.info("stopped");
        } finally {
            stopped.countDown();
        }
    }

    /**
     * Waits (at most {@link #warmupStopWait}) for the warm-up to return before the model closes: it checks the stop
     * flag between requests, so a request it had already begun finishes on an open model instead of on freed device
     * memory.
     */
    private void awaitWarmUp() {
        try {
            if (!warmedUp.await(warmupStopWait.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("the warm-up did not stop within {} s; closing the model anyway", warmupStopWait.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeModel() {
        try {
            model.close();
        } catch (Exception e) {
            log.warn("closing the model failed: {}", e.toString());
            log.debug("the model's close failure", e);
        }
    }

    private void awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
