package dev.glimpse.app.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming multipart parser: exact file bytes whatever they contain, fields, and malformed bodies. */
class MultipartCaptionReaderTest {

    static final ServeLimits LIMITS = new ServeLimits(1 << 20, 1, 0, 8, 16, Duration.ofSeconds(1));
    static final String CONTENT_TYPE = "multipart/form-data; boundary=\"" + ServeClient.BOUNDARY + "\"";

    /** File bytes that hold prefixes of the delimiter, CRLFs and dashes come out exactly as sent. */
    @Test
    void fileWithPartialDelimitersIsCopiedExactly(@TempDir Path dir) throws IOException {
        String tricky = "\r\n--glimpse-test\r\n\r\n-\r\n--glimpse-test-boundary-7Q\r\r\n--" + "\r\n--glimpse-test-boundary-7";
        byte[] file = (tricky + "\u0000\u00ff end").getBytes(StandardCharsets.ISO_8859_1);
        byte[] body = ServeClient.multipart("video", "c.mp4", file, Map.of("frames", "3", "question", "How many?"));
        Path media = dir.resolve("media");
        CaptionRequest r = MultipartCaptionReader.read(CONTENT_TYPE, new ByteArrayInputStream(body), media, LIMITS);
        assertArrayEquals(file, Files.readAllBytes(media));
        assertEquals(CaptionRequest.Kind.VIDEO, r.media().kind());
        assertEquals("c.mp4", r.media().name());
        assertEquals(3, r.frames().orElseThrow());
        assertEquals("How many?", r.question());
    }

    @Test
    void bodyCutBeforeTheClosingBoundaryIs400(@TempDir Path dir) {
        byte[] body = ServeClient.multipart("image", "a.png", new byte[]{1, 2, 3}, Map.of());
        HttpError e = assertThrows(HttpError.class, () -> MultipartCaptionReader.read(CONTENT_TYPE,
                new ByteArrayInputStream(Arrays.copyOf(body, body.length - 10)), dir.resolve("m"), LIMITS));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("ends before its closing boundary"), e.getMessage());
    }

    @Test
    void formWithoutMediaIs400NamingImage(@TempDir Path dir) {
        String body = "--b\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\nhi\r\n--b--\r\n";
        HttpError e = assertThrows(HttpError.class, () -> MultipartCaptionReader.read("multipart/form-data; boundary=b",
                new ByteArrayInputStream(body.getBytes(StandardCharsets.US_ASCII)), dir.resolve("m"), LIMITS));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().startsWith("field 'image': missing"), e.getMessage());
    }

    @Test
    void missingBoundaryIs400(@TempDir Path dir) {
        HttpError e = assertThrows(HttpError.class, () -> MultipartCaptionReader.read("multipart/form-data",
                new ByteArrayInputStream(new byte[0]), dir.resolve("m"), LIMITS));
        assertEquals(400, e.status());
    }
}
