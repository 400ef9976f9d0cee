package dev.glimpse.app.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a {@code POST /v1/caption} body by its content type: {@code multipart/form-data} (the
 * primary form: the file streams to disk as it arrives) or {@code application/json} with base64
 * media (decoded to disk as it is parsed). Either way the media goes to {@code mediaFile} and
 * never wholly into memory; any other content type is a 415.
 */
final class CaptionBodyReader {

    private CaptionBodyReader() {
    }

    static CaptionRequest read(String contentType, InputStream body, Path mediaFile, ServeLimits limits)
            throws IOException {
        if (contentType == null) {
            throw HttpError.unsupportedType("no Content-Type; send multipart/form-data (a file field 'image' or "
                    + "'video') or application/json (base64 'image' or 'video')");
        }
        String mime = contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        return switch (mime) {
            case "multipart/form-data" -> MultipartCaptionReader.read(contentType, body, mediaFile, limits);
            case "application/json" -> JsonCaptionReader.read(body, mediaFile, limits);
            default -> throw HttpError.unsupportedType("Content-Type " + mime + " is not accepted; send "
                    + "multipart/form-data or application/json");
        };
    }
}
