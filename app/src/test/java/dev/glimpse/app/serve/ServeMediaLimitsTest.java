package dev.glimpse.app.serve;

import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The media limits an operator sets ({@code --max-pixels}, {@code --max-duration-seconds},
 * {@code --decode-timeout-seconds}) hold per request and are listed by {@code GET /v1/model}. The
 * server here allows exactly the example image's 224 x 224 pixels and 2 s of video; the example
 * clip (224 x 224, 4 s) passes the pixel limit and meets the duration limit.
 */
class ServeMediaLimitsTest {

    static final long MAX_PIXELS = 224 * 224;
    static final ServeLimits LIMITS = new ServeLimits(ServeEndpointsTest.MAX_REQUEST_BYTES, 1, 4, 16, 8,
            Duration.ofSeconds(5), MAX_PIXELS, Duration.ofSeconds(2), Duration.ofSeconds(30));

    static VisionLanguageModel vlm;
    static CaptionServer server;
    static ServeClient client;

    /** Wired as {@code glimpse serve} wires them: the loaded model checks the service's media limits. */
    @BeforeAll
    static void start() throws IOException {
        vlm = Glimpse.load(ServeEndpointsTest.MODEL, LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu"))
                .withMediaLimits(LIMITS.mediaLimits()));
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), Captioner.of(vlm),
                ModelDescription.of(vlm, LIMITS), LIMITS);
        client = new ServeClient(server);
    }

    @AfterAll
    static void stop() {
        server.stop();
        vlm.close();
    }

    @Test
    void modelEndpointListsTheMediaLimits() {
        ServeClient.Reply r = client.get("/v1/model");
        assertEquals(200, r.status());
        assertEquals(MAX_PIXELS, r.body().at("/limits/max_pixels").asLong(), r.body().toString());
        assertEquals(2, r.body().at("/limits/max_duration_seconds").asLong(), r.body().toString());
        assertEquals(30, r.body().at("/limits/decode_timeout_seconds").asLong(), r.body().toString());
    }

    @Test
    void imageAtThePixelLimitIsAnswered() throws IOException {
        ServeClient.Reply r = client.postMultipart("image", "scene.png", Files.readAllBytes(ServeEndpointsTest.IMAGE),
                Map.of("question", ServeEndpointsTest.STAR_QUESTION));
        assertEquals(200, r.status(), r.body().toString());
    }

    /** A PNG header claiming 225 x 224, one column more than allowed (the runtime's default would take it). */
    @Test
    void imageOverTheServersPixelLimitIs422NamingTheFlag() {
        ByteBuffer png = ByteBuffer.allocate(33);
        png.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}).putInt(13)
                .put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(225).putInt(224)
                .put(new byte[]{8, 2, 0, 0, 0}).putInt(0);
        ServeClient.Reply r = client.postMultipart("image", "wide.png", png.array(), Map.of());
        assertEquals(422, r.status(), r.body().toString());
        assertEquals("media_limit_exceeded", r.errorCode());
        assertEquals("wide.png: frame size 225x224 (50400 pixels) exceeds the limit of 50176 pixels "
                + "(the server's --max-pixels)", r.errorMessage());
    }

    @Test
    void videoOverTheServersDurationIs422NamingTheFlag() throws IOException {
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", Files.readAllBytes(ServeEndpointsTest.CLIP),
                Map.of("frames", "2"));
        assertEquals(422, r.status(), r.body().toString());
        assertEquals("media_limit_exceeded", r.errorCode());
        assertEquals("clip.mp4: duration 4.0 s exceeds the limit of 2 s (the server's --max-duration-seconds)",
                r.errorMessage());
        ServeEndpointsTest.assertNoUploadLeft();
    }
}
