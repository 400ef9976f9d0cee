package dev.glimpse.app.serve;

import java.io.IOException;

/**
 * Thrown by {@link BoundedInputStream} when a request body goes past the byte limit. An
 * IOException so that it passes unchanged through parsers that read the stream (Jackson).
 */
final class RequestTooLargeException extends IOException {

    private final long limit;

    RequestTooLargeException(long limit) {
        super("request body over " + limit + " bytes");
        this.limit = limit;
    }

    long limit() {
        return limit;
    }
}
