package dev.glimpse.app.serve;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Whether the service takes caption requests yet: while it warms up ({@code ServeWarmup}, holding the model for up
 * to its bound) {@code GET /readyz} answers 503 {@code {"status": "warming"}} and {@code POST /v1/caption} 503
 * {@code warming_up}, both with a {@code Retry-After} of the seconds the warm-up may still take (the caption before
 * reading its upload); once ready, {@code /readyz} answers 200 {@code {"status": "ready"}} and requests run. A warm-up
 * that fails or is stopped never marks it ready ({@link ServeLifecycle}).
 * {@code GET /healthz} stays a liveness check: 200 {@code {"status": "ok"}} from the start, as it always was, so a
 * liveness probe does not restart a server that is warming up. Refusing rather than queueing: a request that waited
 * would hold an upload and a connection for up to the whole warm-up, and a load balancer that probes
 * {@code /readyz} sends none until it says ready. Thread-safe.
 */
final class Readiness {

    private final LongSupplier clock;
    private volatile boolean ready;
    private volatile long warmingUntil;

    private Readiness(boolean ready, LongSupplier clock) {
        this.ready = ready;
        this.clock = clock;
    }

    /** Ready from the start (no warm-up). */
    static Readiness ready() {
        return new Readiness(true, System::nanoTime);
    }

    /** Warming for at most {@code bound} from now, until {@link #markReady}. */
    static Readiness warming(Duration bound) {
        return warming(bound, System::nanoTime);
    }

    static Readiness warming(Duration bound, LongSupplier clock) {
        Readiness r = new Readiness(false, clock);
        r.warmingUntil = clock.getAsLong() + bound.toNanos();
        return r;
    }

    void markReady() {
        ready = true;
    }

    boolean isReady() {
        return ready;
    }

    /** Seconds a client should wait before retrying: what is left of the warm-up's bound, at least 1. */
    long retryAfterSeconds() {
        long left = warmingUntil - clock.getAsLong();
        return Math.max(1, (left + 999_999_999L) / 1_000_000_000L);
    }

    /** {@code GET /readyz}: 200 ready, or 503 warming with Retry-After. */
    void sendReadiness(HttpExchange exchange) throws IOException {
        if (ready) {
            JsonResponses.send(exchange, 200, Map.of("status", "ready"));
        } else {
            exchange.getResponseHeaders().set("Retry-After", Long.toString(retryAfterSeconds()));
            JsonResponses.send(exchange, 503, Map.of("status", "warming"));
        }
    }

    /** Throws the 503 of a request that came during the warm-up (with its Retry-After header set); nothing when ready. */
    void requireReady(HttpExchange exchange) {
        if (ready) {
            return;
        }
        long seconds = retryAfterSeconds();
        exchange.getResponseHeaders().set("Retry-After", Long.toString(seconds));
        throw new HttpError(503, "warming_up", "the server is warming up (--warmup); retry in " + seconds + " s");
    }
}
