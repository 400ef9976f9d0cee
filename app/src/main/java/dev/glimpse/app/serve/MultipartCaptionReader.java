package dev.glimpse.app.serve;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code multipart/form-data} caption request (RFC 7578): one file part named {@code image} or
 * {@code video}, and text parts for the fields of {@link CaptionFields}. Parsed in one pass over
 * the body: the file part streams into the media file as it arrives, matched against the
 * boundary with a Knuth-Morris-Pratt automaton; part headers and text fields are bounded.
 */
final class MultipartCaptionReader {

    private static final Pattern BOUNDARY = Pattern.compile("(?i);\\s*boundary=(\"([^\"]{1,70})\"|([^;\\s]{1,70}))");
    private static final Pattern NAME = Pattern.compile("(?i);\\s*name=\"([^\"]*)\"");
    private static final Pattern FILENAME = Pattern.compile("(?i);\\s*filename=\"([^\"]*)\"");
    private static final int MAX_HEADER_BYTES = 8192;

    private MultipartCaptionReader() {
    }

    static CaptionRequest read(String contentType, InputStream body, Path mediaFile, ServeLimits limits)
            throws IOException {
        Matcher m = BOUNDARY.matcher(contentType);
        if (!m.find()) {
            throw HttpError.badRequest("multipart/form-data without a boundary parameter in Content-Type");
        }
        String boundary = m.group(2) != null ? m.group(2) : m.group(3);
        byte[] delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        // The first boundary may start the body; a virtual CRLF lets one delimiter pattern find all.
        InputStream in = new SequenceInputStream(new ByteArrayInputStream(new byte[]{'\r', '\n'}),
                new BufferedInputStream(body, 65536));
        BoundaryScanner scanner = new BoundaryScanner(in, delimiter);
        scanner.copyUntilDelimiter(OutputStream.nullOutputStream());
        CaptionFields fields = new CaptionFields();
        CaptionRequest.Upload upload = null;
        while (scanner.nextPartFollows()) {
            String disposition = null;
            for (String header = scanner.headerLine(); !header.isEmpty(); header = scanner.headerLine()) {
                int colon = header.indexOf(':');
                if (colon > 0 && header.substring(0, colon).strip().equalsIgnoreCase("Content-Disposition")) {
                    disposition = header.substring(colon + 1);
                }
            }
            Matcher name = disposition == null ? null : NAME.matcher(disposition);
            if (name == null || !name.find()) {
                throw HttpError.badRequest("a multipart part has no Content-Disposition name");
            }
            String field = name.group(1);
            var kind = CaptionRequest.Kind.ofField(field);
            if (kind.isPresent()) {
                if (upload != null) {
                    throw HttpError.badField(field, "give one file part, image or video, once");
                }
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(mediaFile))) {
                    scanner.copyUntilDelimiter(out);
                }
                Matcher filename = FILENAME.matcher(disposition);
                upload = new CaptionRequest.Upload(kind.get(), mediaFile,
                        filename.find() && !filename.group(1).isBlank() ? filename.group(1) : field);
            } else {
                ByteArrayOutputStream value = new ByteArrayOutputStream();
                scanner.copyUntilDelimiter(new CappedOutputStream(value, field));
                fields.putText(field, value.toString(StandardCharsets.UTF_8));
            }
        }
        if (upload == null) {
            throw HttpError.badField("image", "missing; upload the media as a file part named 'image' or 'video'");
        }
        return fields.toRequest(upload, limits);
    }

    /** Finds boundary delimiters in a stream, copying what lies between them. */
    private static final class BoundaryScanner {

        private final InputStream in;
        private final byte[] delimiter;
        private final int[] fallback;

        BoundaryScanner(InputStream in, byte[] delimiter) {
            this.in = in;
            this.delimiter = delimiter;
            this.fallback = new int[delimiter.length];
            for (int i = 1, k = 0; i < delimiter.length; i++) {
                while (k > 0 && delimiter[i] != delimiter[k]) {
                    k = fallback[k - 1];
                }
                if (delimiter[i] == delimiter[k]) {
                    k++;
                }
                fallback[i] = k;
            }
        }

        /** Copies bytes to {@code out} up to the next delimiter, which is consumed. */
        void copyUntilDelimiter(OutputStream out) throws IOException {
            int matched = 0;
            for (int b = in.read(); b >= 0; b = in.read()) {
                while (matched > 0 && b != (delimiter[matched] & 0xff)) {
                    int keep = fallback[matched - 1];
                    out.write(delimiter, 0, matched - keep);
                    matched = keep;
                }
                if (b == (delimiter[matched] & 0xff)) {
                    if (++matched == delimiter.length) {
                        return;
                    }
                } else {
                    out.write(b);
                }
            }
            throw HttpError.badRequest("the multipart body ends before its closing boundary");
        }

        /** After a delimiter: true when a part follows (CRLF), false at the closing delimiter (--). */
        boolean nextPartFollows() throws IOException {
            int a = in.read();
            int b = in.read();
            if (a == '-' && b == '-') {
                return false;
            }
            if (a == '\r' && b == '\n') {
                return true;
            }
            throw HttpError.badRequest("malformed multipart body: a boundary is followed by neither CRLF nor --");
        }

        /** One part header line without its CRLF; empty at the blank line that ends the headers. */
        String headerLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b = in.read(); b >= 0; b = in.read()) {
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, end, StandardCharsets.UTF_8);
                }
                if (line.size() == MAX_HEADER_BYTES) {
                    throw HttpError.badRequest("a multipart part header is longer than " + MAX_HEADER_BYTES + " bytes");
                }
                line.write(b);
            }
            throw HttpError.badRequest("the multipart body ends inside a part's headers");
        }
    }

    /** A text field's bytes, refused past the text field limit. */
    private static final class CappedOutputStream extends OutputStream {

        private final ByteArrayOutputStream out;
        private final String field;

        CappedOutputStream(ByteArrayOutputStream out, String field) {
            this.out = out;
            this.field = field;
        }

        @Override
        public void write(int b) {
            if (out.size() >= ServeLimits.MAX_TEXT_FIELD_CHARS * 4) {
                throw HttpError.badField(field, "longer than "
                        + ServeLimits.MAX_TEXT_FIELD_CHARS + " characters");
            }
            out.write(b);
        }
    }
}
