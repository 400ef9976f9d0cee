package dev.glimpse.app.serve;

import dev.glimpse.app.QuotaRequest;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The service's limits and shutdown with the demo model behind a gate: the model call of the first
 * request blocks until the test opens the gate, so "a request is running" is a fact, not a timing guess.
 */
class ServeAdmissionAndShutdownTest {

    static VisionLanguageModel vlm;
    static byte[] image;

    CountDownLatch entered;
    CountDownLatch release;
    CaptionServer server;
    ServeClient client;

    @BeforeAll
    static void load() throws IOException {
        vlm = Glimpse.load(ServeEndpointsTest.MODEL, LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        image = Files.readAllBytes(ServeEndpointsTest.IMAGE);
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    @BeforeEach
    void startWithOneSlotAndNoQueue() throws IOException {
        entered = new CountDownLatch(1);
        release = new CountDownLatch(1);
        ServeLimits limits = new ServeLimits(1 << 20, 1, 0, 8, 16, Duration.ofSeconds(20));
        Captioner model = Captioner.of(vlm);
        Captioner gated = new Captioner() {
            @Override
            public Answer caption(Media media, String question, AskOptions options) {
                entered.countDown();
                try {
                    assertTrue(release.await(60, TimeUnit.SECONDS), "the test never released the model call");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                return model.caption(media, question, options);
            }

            @Override
            public QuotaRequest planQuota(Media video, String question, AskOptions options) {
                return model.planQuota(video, question, options);
            }
        };
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), gated, ModelDescription.of(vlm, limits), limits);
        client = new ServeClient(server);
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop();
    }

    @Test
    void requestBeyondTheConcurrencyLimitIs503WhileHealthStillAnswers() throws Exception {
        CompletableFuture<ServeClient.Reply> first = captionInBackground();
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        ServeClient.Reply second = client.postMultipart("image", "scene.png", image, Map.of("question", "What color is the star?"));
        assertEquals(503, second.status(), second.body().toString());
        assertEquals("overloaded", second.errorCode());
        assertEquals(200, client.get("/healthz").status());
        release.countDown();
        assertEquals("blue", first.get(60, TimeUnit.SECONDS).body().get("answer").asText());
        assertEquals(200, client.postMultipart("image", "scene.png", image, Map.of("question", "What color is the star?"))
                .status(), "the slot is free again");
    }

    @Test
    void stopRefusesNewConnectionsAndLetsTheInFlightRequestFinish() throws Exception {
        CompletableFuture<ServeClient.Reply> inFlight = captionInBackground();
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        int port = server.address().getPort();
        long t0 = System.nanoTime();
        CompletableFuture<Void> stopping = CompletableFuture.runAsync(server::stop, task -> new Thread(task, "stop").start());
        awaitRefused(port, 30);
        assertFalse(stopping.isDone(), "stop waits for the in-flight request");
        release.countDown();
        ServeClient.Reply reply = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(200, reply.status(), reply.body().toString());
        assertEquals("blue", reply.body().get("answer").asText());
        stopping.get(30, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "stop returned before the grace period ran out");
        assertThrows(UncheckedIOException.class, () -> client.get("/healthz"));
    }

    private CompletableFuture<ServeClient.Reply> captionInBackground() {
        return CompletableFuture.supplyAsync(() -> client.postMultipart("image", "scene.png", image,
                Map.of("question", "What color is the star?")));
    }

    /**
     * Waits (up to {@code seconds}) until the port refuses connections: the server stopped listening; a reset or an
     * unanswered connect while the listener closes counts as not yet. Also used by ServeLifecycleTest.
     */
    static void awaitRefused(int port, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            } catch (ConnectException refused) {
                return;
            } catch (IOException closing) {
                // While the listener closes, a connection caught in its backlog is reset or left
                // unanswered rather than refused: try again.
            }
            Thread.sleep(20);
        }
        throw new AssertionError("port " + port + " still accepts connections " + seconds + " s after stop");
    }
}
