package dev.glimpse.app.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.app.Main;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The REST service with the shipped demo model on the CPU: captions of the committed example image
 * and clip answer as {@code glimpse ask} does, and every kind of bad request gets its status and a
 * JSON error naming the problem, with no temp file left behind.
 */
class ServeEndpointsTest {

    static final Path REPO = repoRoot();
    static final Path MODEL = REPO.resolve("models/glimpse-demo");
    static final Path IMAGE = REPO.resolve("examples/synth-scene-s20000002.png");
    static final Path CLIP = REPO.resolve("examples/synth-clip-c20000002.mp4");
    static final long MAX_REQUEST_BYTES = 512 * 1024;
    /** A body a client keeps sending after its 413: 128 times the limit, more than loopback socket buffers hold. */
    static final long OVERSIZED_BODY_BYTES = 128 * MAX_REQUEST_BYTES;
    static final String STAR_QUESTION = "What color is the star?";
    /** The Content-Type of the raw multipart requests below (their bodies are never valid multipart). */
    static final String MULTIPART = "multipart/form-data; boundary=b";
    /** The zero-size chunk and empty trailer that end a chunked body. */
    static final String LAST_CHUNK = "0\r\n\r\n";

    static VisionLanguageModel vlm;
    static CaptionServer server;
    static ServeClient client;

    @BeforeAll
    static void start() throws IOException {
        vlm = Glimpse.load(MODEL, LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        ServeLimits limits = new ServeLimits(MAX_REQUEST_BYTES, 1, 4, 16, 64, Duration.ofSeconds(5));
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), Captioner.of(vlm),
                ModelDescription.of(vlm, limits), limits);
        client = new ServeClient(server);
    }

    @AfterAll
    static void stop() {
        server.stop();
        vlm.close();
    }

    @Test
    void multipartImageCaptionAnswersAsGlimpseAsk() throws IOException {
        JsonNode ask = askJson("--image", IMAGE.toString(), STAR_QUESTION);
        ServeClient.Reply r = client.postMultipart("image", "scene.png", Files.readAllBytes(IMAGE),
                Map.of("question", STAR_QUESTION));
        assertEquals(200, r.status(), r.body().toString());
        assertEquals("blue", r.body().get("answer").asText());
        assertEquals(ask.get("answer"), r.body().get("answer"));
        assertEquals(ask.get("token_ids"), r.body().get("token_ids"));
        assertEquals(ask.at("/tokens/visual"), r.body().at("/tokens/visual"));
        assertTrue(r.body().at("/timings_ms/generate").asDouble() > 0, r.body().toString());
        assertTrue(r.body().path("trace").isMissingNode(), "trace only when asked");
        assertNoUploadLeft();
    }

    @Test
    void jsonBase64ImageCaptionAnswersAsMultipartDoes() throws IOException {
        ServeClient.Reply r = client.postJson("image", Files.readAllBytes(IMAGE),
                Map.of("prompt", STAR_QUESTION, "max_new_tokens", 8));
        assertEquals(200, r.status(), r.body().toString());
        assertEquals("blue", r.body().get("answer").asText());
    }

    @Test
    void prunedCaptionReportsKeptTokensAndTheTrace() throws IOException {
        ServeClient.Reply r = client.postJson("image", Files.readAllBytes(IMAGE),
                Map.of("question", STAR_QUESTION, "prune", "vtc-cls", "budget", "25%", "trace", true));
        assertEquals(200, r.status(), r.body().toString());
        int in = r.body().at("/tokens/visual/projector/in").asInt();
        assertEquals(in / 4, r.body().at("/tokens/visual/projector/kept").asInt(), r.body().toString());
        assertEquals(in / 4, r.body().at("/trace/stages/0/frames/0/kept").size(), r.body().toString());
    }

    @Test
    void videoCaptionSamplesTheFrameBudgetAndAnswersAsGlimpseAsk() throws IOException {
        String question = "How many objects appeared in the video?";
        JsonNode ask = askJson("--video", CLIP.toString(), "--frames", "4", question);
        ServeClient.Reply image = client.postMultipart("image", "scene.png", Files.readAllBytes(IMAGE), Map.of());
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", Files.readAllBytes(CLIP),
                Map.of("question", question, "frames", "4"));
        assertEquals(200, r.status(), r.body().toString());
        assertEquals(4 * image.body().at("/tokens/visual/projector/in").asInt(),
                r.body().at("/tokens/visual/projector/in").asInt(), r.body().toString());
        assertEquals(ask.get("answer"), r.body().get("answer"));
        assertNoUploadLeft();
    }

    @Test
    void healthzSaysOkAndReadyzSaysReady() {
        ServeClient.Reply r = client.get("/healthz");
        assertEquals(200, r.status());
        assertEquals("ok", r.body().get("status").asText());
        ServeClient.Reply ready = client.get("/readyz");
        assertEquals(200, ready.status());
        assertEquals("ready", ready.body().get("status").asText());
    }

    @Test
    void modelEndpointDescribesModelDeviceAndLimits() {
        ServeClient.Reply r = client.get("/v1/model");
        assertEquals(200, r.status());
        assertEquals("glimpse-demo", r.body().get("id").asText());
        assertEquals("cpu", r.body().get("device").asText());
        assertEquals("LlavaForConditionalGeneration", r.body().at("/architectures/0").asText());
        assertEquals(MAX_REQUEST_BYTES, r.body().at("/limits/max_request_bytes").asLong());
        assertEquals(16, r.body().at("/limits/max_frames").asInt());
    }

    @Test
    void malformedJsonIs400() throws IOException {
        ServeClient.Reply r = client.post("/v1/caption", "application/json",
                "{\"question\": \"What color is the star?\", \"frames\": [".getBytes(StandardCharsets.UTF_8));
        assertEquals(400, r.status(), r.body().toString());
        assertEquals("bad_request", r.errorCode());
        assertTrue(r.errorMessage().startsWith("malformed JSON"), r.errorMessage());
        assertNoUploadLeft();
    }

    @Test
    void badFieldIs400NamingTheField() throws IOException {
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", Files.readAllBytes(CLIP), Map.of("frames", "many"));
        assertEquals(400, r.status(), r.body().toString());
        assertEquals("invalid_field", r.errorCode());
        assertTrue(r.errorMessage().startsWith("field 'frames'"), r.errorMessage());
    }

    @Test
    void framesOverTheServerLimitIs400() throws IOException {
        ServeClient.Reply r = client.postJson("video", Files.readAllBytes(CLIP), Map.of("frames", 17));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().contains("'frames': 17 is outside 1..16"), r.errorMessage());
    }

    @Test
    void unknownFieldIs400() throws IOException {
        ServeClient.Reply r = client.postJson("image", Files.readAllBytes(IMAGE), Map.of("budgt", "25%"));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("field 'budgt': unknown field"), r.errorMessage());
    }

    @Test
    void badBudgetIs400NamingBudget() throws IOException {
        ServeClient.Reply r = client.postJson("image", Files.readAllBytes(IMAGE), Map.of("prune", "vtc-cls", "budget", "lots"));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("field 'budget'"), r.errorMessage());
    }

    @Test
    void invalidBase64Is400NamingTheField() {
        ServeClient.Reply r = client.post("/v1/caption", "application/json",
                "{\"image\": \"not*base64!\"}".getBytes(StandardCharsets.UTF_8));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("field 'image': not valid base64"), r.errorMessage());
    }

    @Test
    void declaredOversizedBodyIs413BeforeItIsSent() throws IOException {
        try (Socket s = connect(10_000)) {
            OutputStream out = s.getOutputStream();
            out.write(ascii(captionRequestHead("application/json", "Content-Length: 1000000000") + "{\"image\":\""));
            String response = flushAndReadResponse(s);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            assertTrue(response.contains("\"code\":\"request_too_large\""), response);
            assertTrue(response.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), response);
        }
    }

    @Test
    void chunkedBodyOverTheLimitIs413() throws IOException {
        try (Socket s = connect(10_000)) {
            OutputStream out = s.getOutputStream();
            out.write(ascii(captionRequestHead(MULTIPART, "Transfer-Encoding: chunked")));
            byte[] chunk = filler();
            for (long sent = 0; sent <= MAX_REQUEST_BYTES; sent += chunk.length) {
                writeChunk(out, chunk);
            }
            out.write(ascii(LAST_CHUNK));
            String response = flushAndReadResponse(s);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
        }
        assertNoUploadLeft();
    }

    /**
     * A client that sends its whole oversized body before it reads gets the 413, not a connection
     * reset: the server discards what follows the refusal. 64 MiB is more than the loopback socket
     * buffers hold, so without the discarding the client's writes meet a closed connection.
     */
    @Test
    void declaredOversizedBodySentInFullStillGets413() throws IOException {
        try (Socket s = connect(30_000)) {
            long length = OVERSIZED_BODY_BYTES;
            OutputStream out = s.getOutputStream();
            out.write(ascii(captionRequestHead(MULTIPART, "Content-Length: " + length)));
            byte[] chunk = filler();
            for (long sent = 0; sent < length; sent += chunk.length) {
                out.write(chunk);
            }
            String response = flushAndReadResponse(s);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            assertTrue(response.contains("\"code\":\"request_too_large\""), response);
        }
    }

    /** As above for a chunked body, refused once the limit is passed while reading it. */
    @Test
    void chunkedBodyFarOverTheLimitSentInFullStillGets413() throws IOException {
        try (Socket s = connect(30_000)) {
            OutputStream out = s.getOutputStream();
            out.write(ascii(captionRequestHead(MULTIPART, "Transfer-Encoding: chunked")));
            byte[] chunk = filler();
            for (long sent = 0; sent < OVERSIZED_BODY_BYTES; sent += chunk.length) {
                writeChunk(out, chunk);
            }
            out.write(ascii(LAST_CHUNK));
            String response = flushAndReadResponse(s);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
        }
        assertNoUploadLeft();
    }

    @Test
    void unsupportedContentTypeIs415() {
        ServeClient.Reply r = client.post("/v1/caption", "text/plain", "a cat".getBytes(StandardCharsets.UTF_8));
        assertEquals(415, r.status(), r.body().toString());
        assertEquals("unsupported_media_type", r.errorCode());
    }

    @Test
    void bytesOfNoImageFormatAre415() {
        ServeClient.Reply r = client.postMultipart("image", "notes.txt",
                "just some text, no image".getBytes(StandardCharsets.UTF_8), Map.of());
        assertEquals(415, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("notes.txt: not a jpg, png"), r.errorMessage());
    }

    @Test
    void truncatedImageIs422WithTheClientsFileName() throws IOException {
        byte[] png = Files.readAllBytes(IMAGE);
        ServeClient.Reply r = client.postMultipart("image", "cut.png", Arrays.copyOf(png, png.length / 3), Map.of());
        assertEquals(422, r.status(), r.body().toString());
        assertEquals("undecodable_media", r.errorCode());
        assertTrue(r.errorMessage().startsWith("cut.png: "), r.errorMessage());
        assertNoUploadLeft();
    }

    /** A PNG header that claims 100000 x 100000 pixels (a decompression bomb) is refused before decoding. */
    @Test
    void imageOverThePixelLimitIs422() {
        java.nio.ByteBuffer png = java.nio.ByteBuffer.allocate(33);
        png.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}).putInt(13).put("IHDR".getBytes(StandardCharsets.US_ASCII))
                .putInt(100_000).putInt(100_000).put(new byte[]{8, 2, 0, 0, 0}).putInt(0);
        ServeClient.Reply r = client.postMultipart("image", "bomb.png", png.array(), Map.of());
        assertEquals(422, r.status(), r.body().toString());
        assertEquals("media_limit_exceeded", r.errorCode());
        assertTrue(r.errorMessage().startsWith("bomb.png: frame size 100000x100000"), r.errorMessage());
        assertTrue(r.errorMessage().endsWith("exceeds the limit of 33177600 pixels (the server's --max-pixels)"),
                r.errorMessage());
    }

    @Test
    void corruptVideoIs422() throws IOException {
        byte[] mp4 = Files.readAllBytes(CLIP);
        ServeClient.Reply r = client.postMultipart("video", "cut.mp4", Arrays.copyOf(mp4, mp4.length / 2), Map.of());
        assertEquals(422, r.status(), r.body().toString());
        assertFalse(r.errorMessage().contains("glimpse-upload-"), r.errorMessage());
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() {
        ServeClient.Reply missing = client.get("/v1/nothing");
        assertEquals(404, missing.status());
        assertEquals("not_found", missing.errorCode());
        ServeClient.Reply wrongMethod = client.get("/v1/caption");
        assertEquals(405, wrongMethod.status());
        assertEquals("method_not_allowed", wrongMethod.errorCode());
    }

    /** {@code glimpse ask --json} on the demo model, in this JVM. */
    static JsonNode askJson(String... args) throws IOException {
        String[] all = Stream.concat(Stream.of("ask", "--model", MODEL.toString(), "--device", "cpu", "--json"),
                Arrays.stream(args)).toArray(String[]::new);
        PrintStream old = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = Main.run(all);
        } finally {
            System.setOut(old);
        }
        assertEquals(0, exit, captured.toString(StandardCharsets.UTF_8));
        return ServeClient.JSON.readTree(captured.toByteArray());
    }

    static void assertNoUploadLeft() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().startsWith("glimpse-upload-")).count());
        }
    }

    /** A raw connection to the server whose reads give up after {@code timeoutMillis}. */
    private static Socket connect(int timeoutMillis) throws IOException {
        Socket s = new Socket("127.0.0.1", server.address().getPort());
        s.setSoTimeout(timeoutMillis);
        return s;
    }

    /** Request line and headers of a POST to /v1/caption with {@code contentType} and one body header, through the blank line. */
    private static String captionRequestHead(String contentType, String bodyHeader) {
        return "POST /v1/caption HTTP/1.1\r\nHost: x\r\nContent-Type: " + contentType + "\r\n" + bodyHeader + "\r\n\r\n";
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** 16 KiB of 'x', the block the oversized bodies are sent in. */
    private static byte[] filler() {
        byte[] chunk = new byte[16 * 1024];
        Arrays.fill(chunk, (byte) 'x');
        return chunk;
    }

    /** {@code chunk} as one chunk of a chunked body: its size in hex, CRLF, the bytes, CRLF. */
    private static void writeChunk(OutputStream out, byte[] chunk) throws IOException {
        out.write(ascii(Integer.toHexString(chunk.length) + "\r\n"));
        out.write(chunk);
        out.write(ascii("\r\n"));
    }

    /** Flushes what was written to {@code s} and reads the response ({@link #readResponse}). */
    private static String flushAndReadResponse(Socket s) throws IOException {
        s.getOutputStream().flush();
        return readResponse(s.getInputStream());
    }

    /** Status line, headers and the Content-Length body of one response (without waiting for the connection to close). */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertTrue(b >= 0, "connection closed inside the response headers: " + head);
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.ISO_8859_1);
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(headers);
        assertTrue(length.find(), headers);
        return headers + new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.ISO_8859_1);
    }

    private static Path repoRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("fixtures"))) {
                return d;
            }
        }
        throw new IllegalStateException("no fixtures/ folder at or above " + Path.of("").toAbsolutePath());
    }
}
