package dev.glimpse.app.serve;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request body that may yield at most {@code limit} bytes: reading past it throws
 * {@link RequestTooLargeException} after at most one more byte, so an oversized upload is refused
 * while it is read rather than after it was buffered.
 */
final class BoundedInputStream extends FilterInputStream {

    private final long limit;
    private long count;

    BoundedInputStream(InputStream in, long limit) {
        super(in);
        this.limit = limit;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            advance(1);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        long room = limit - count + 1;
        int n = super.read(buffer, offset, (int) Math.min(length, room));
        if (n > 0) {
            advance(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = super.skip(Math.min(n, limit - count + 1));
        advance(skipped);
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void advance(long n) throws RequestTooLargeException {
        count += n;
        if (count > limit) {
            throw new RequestTooLargeException(limit);
        }
    }
}
