package dev.glimpse.app.serve;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * While the server warms up, {@code GET /readyz} says 503 warming ({@code /healthz} stays 200) and a caption request gets 503
 * {@code warming_up} with a Retry-After of what is left of the warm-up's bound, without the model being
 * called; once ready, 200 ready.
 */
class ServeWarmingTest {

    private final AtomicLong nanos = new AtomicLong();
    private final Readiness readiness = Readiness.warming(Duration.ofSeconds(120), nanos::get);
    private CaptionServer server;

    @BeforeEach
    void startWarming() throws IOException {
        Captioner unreachable = WarmingServerSupport.unreachable("the model was called during the warm-up");
        ServeLimits limits = new ServeLimits(1 << 20, 1, 1, 8, 16, Duration.ofSeconds(5));
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), unreachable, Map.of(), limits, readiness);
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    @Test
    void readyzSaysWarmingThenReadyWhileHealthzStaysLive() throws Exception {
        HttpResponse<String> warming = send(HttpRequest.newBuilder(uri("/readyz")));
        assertEquals(503, warming.statusCode());
        assertTrue(warming.body().contains("\"status\":\"warming\""), warming.body());
        assertTrue(warming.headers().firstValue("Retry-After").isPresent(), warming.headers().toString());
        HttpResponse<String> live = send(HttpRequest.newBuilder(uri("/healthz")));
        assertEquals(200, live.statusCode(), "a liveness probe must not restart a warming server");
        assertTrue(live.body().contains("\"status\":\"ok\""), live.body());
        readiness.markReady();
        HttpResponse<String> ready = send(HttpRequest.newBuilder(uri("/readyz")));
        assertEquals(200, ready.statusCode());
        assertTrue(ready.body().contains("\"status\":\"ready\""), ready.body());
    }

    @Test
    void aCaptionDuringTheWarmupIsRefusedWithRetryAfterTheBoundsRest() throws Exception {
        nanos.set(Duration.ofMillis(100_500).toNanos());
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/v1/caption"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"image\": \"AAAA\"}")));
        assertEquals(503, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"warming_up\""), r.body());
        assertEquals("20", r.headers().firstValue("Retry-After").orElseThrow(), "120 s bound, 100.5 s gone");
    }

    @Test
    void pastItsBoundTheWarmupStillAsksForAtLeastOneSecond() {
        nanos.set(Duration.ofSeconds(500).toNanos());
        assertEquals(1, readiness.retryAfterSeconds());
    }
}
