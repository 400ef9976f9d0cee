package dev.glimpse.app.serve;

import dev.glimpse.app.QuotaRequest;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** What the tests of a warming server share: a model no request may reach, and a /readyz poller. */
final class WarmingServerSupport {

    private WarmingServerSupport() {
    }

    /** A captioner that fails the test with {@code why} if any request reaches it. */
    static Captioner unreachable(String why) {
        return new Captioner() {
            @Override
            public Answer caption(Media media, String question, AskOptions options) {
                throw new AssertionError(why);
            }

            @Override
            public QuotaRequest planQuota(Media video, String question, AskOptions options) {
                throw new AssertionError(why);
            }
        };
    }

    /**
     * GETs {@code uri} every 10 ms, recording each status in {@code statuses} and counting {@code first} down after the
     * first, until the server stops answering or the thread is interrupted.
     */
    static void pollUntilRefused(URI uri, List<Integer> statuses, CountDownLatch first) {
        HttpClient client = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                statuses.add(client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode());
                first.countDown();
                Thread.sleep(10);
            } catch (IOException | InterruptedException stopped) {
                return;
            }
        }
    }
}
