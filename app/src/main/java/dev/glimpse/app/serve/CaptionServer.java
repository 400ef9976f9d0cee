package dev.glimpse.app.serve;

import com.sun.net.httpserver.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The REST service on the JDK's HTTP server: {@code POST /v1/caption}, {@code GET /healthz} (liveness),
 * {@code GET /readyz} (ready or warming, {@link Readiness}), {@code GET /v1/model}. Requests run on a bounded pool: enough threads for every admitted caption
 * request (running + queued) plus a few for health checks and refusals, and a short bounded
 * backlog; beyond that the server refuses connections rather than queueing without end.
 * {@link #stop} closes the listener at once and lets in-flight requests finish within the grace period.
 */
final class CaptionServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CaptionServer.class);
    /** Threads beyond the caption places, for health checks, model info and quick refusals. */
    private static final int SPARE_THREADS = 4;
    private static final int BACKLOG = 64;
    /** The JDK server's bound on receiving one request (headers and body), so a slow client cannot hold a thread. */
    private static final String MAX_REQUEST_TIME_PROPERTY = "sun.net.httpserver.maxReqTime";
    private static final String MAX_REQUEST_TIME_SECONDS = "300";

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final ServeLimits limits;

    private CaptionServer(HttpServer server, ThreadPoolExecutor executor, ServeLimits limits) {
        this.server = server;
        this.executor = executor;
        this.limits = limits;
    }

    /** Binds {@code address} (port 0: any free port) and starts serving, ready at once. */
    static CaptionServer start(InetSocketAddress address, Captioner captioner, Map<String, Object> modelInfo,
                               ServeLimits limits) throws IOException {
        return start(address, captioner, modelInfo, limits, Readiness.ready());
    }

    /** Binds {@code address} and starts serving; caption requests wait for {@code readiness} (503 until then). */
    static CaptionServer start(InetSocketAddress address, Captioner captioner, Map<String, Object> modelInfo,
                               ServeLimits limits, Readiness readiness) throws IOException {
        defaultServerProperty(MAX_REQUEST_TIME_PROPERTY, MAX_REQUEST_TIME_SECONDS);
        HttpServer server = HttpServer.create(address, BACKLOG);
        int threads = limits.maxConcurrent() + limits.maxQueued() + SPARE_THREADS;
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(BACKLOG), r -> {
                    Thread t = new Thread(r, "glimpse-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
        Router router = new Router()
                .route("GET", "/healthz", (exchange, id) -> JsonResponses.send(exchange, 200, Map.of("status", "ok")))
                .route("GET", "/readyz", (exchange, id) -> readiness.sendReadiness(exchange))
                .route("GET", "/v1/model", (exchange, id) -> JsonResponses.send(exchange, 200, modelInfo))
                .route("POST", "/v1/caption", new CaptionEndpoint(captioner, limits, readiness));
        server.createContext("/", router);
        server.setExecutor(executor);
        server.start();
        return new CaptionServer(server, executor, limits);
    }

    /**
     * The JDK server reads its properties once, when its first server starts in the JVM; a value
     * the operator set with {@code -D} wins.
     */
    private static void defaultServerProperty(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }

    /** Where the server listens (with the actual port when it was started on port 0). */
    InetSocketAddress address() {
        return server.getAddress();
    }

    /**
     * Stops accepting connections, waits up to the grace period for in-flight requests, then
     * stops the request threads. Returns once the server is down.
     */
    void stop() {
        long grace = limits.shutdownGrace().toSeconds();
        log.info("stopping: in-flight requests have {} s to finish", grace);
        server.stop((int) Math.min(Integer.MAX_VALUE, grace));
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(1, TimeUnit.SECONDS)) {
                log.warn("request threads still running after the grace period; the model call they wait for "
                        + "ends before the model is closed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
