package dev.glimpse.app.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A JSON caption request: one object with the media as a base64 string in {@code image} or
 * {@code video} (standard alphabet, padding optional) and the fields of {@link CaptionFields}.
 * Parsed as a stream: the base64 text is decoded straight into the media file, so memory stays
 * small whatever the body size. Field values are small and nested at most a few levels.
 */
final class JsonCaptionReader {

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16)
                    .maxStringLength(ServeLimits.MAX_TEXT_FIELD_CHARS + 1).build())
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    private JsonCaptionReader() {
    }

    static CaptionRequest read(InputStream body, Path mediaFile, ServeLimits limits) throws IOException {
        try (JsonParser p = FACTORY.createParser(body)) {
            p.setCodec(MAPPER);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw HttpError.badRequest("the body must be one JSON object");
            }
            CaptionFields fields = new CaptionFields();
            CaptionRequest.Kind kind = null;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                var media = CaptionRequest.Kind.ofField(name);
                if (media.isPresent()) {
                    if (kind != null) {
                        throw HttpError.badField(name, "give one of image or video, once");
                    }
                    kind = media.get();
                    decodeBase64(p, value, name, mediaFile);
                } else {
                    fields.put(name, p.readValueAsTree());
                }
            }
            if (p.nextToken() != null) {
                throw HttpError.badRequest("malformed JSON: content after the object");
            }
            if (kind == null) {
                throw HttpError.badField("image", "missing; give the media as base64 in 'image' or 'video'");
            }
            return fields.toRequest(new CaptionRequest.Upload(kind, mediaFile, kind.field()), limits);
        } catch (StreamReadException e) {
            throw HttpError.badRequest("malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static void decodeBase64(JsonParser p, JsonToken value, String field, Path mediaFile) throws IOException {
        if (value != JsonToken.VALUE_STRING) {
            throw HttpError.badField(field, "must be a base64 string");
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(mediaFile))) {
            p.readBinaryValue(out);
        } catch (IllegalArgumentException e) {
            throw HttpError.badField(field, "not valid base64: " + e.getMessage());
        }
    }
}
