package dev.glimpse.app.serve;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;

/**
 * A lingering close (as Apache httpd and nginx do it) for the JDK server, whose own close reads at
 * most 64 KiB of an unread request body and then closes: the client's further bytes reach a closed
 * socket, which answers with a TCP reset, and a client still writing its body then sees "connection
 * reset" instead of the error response that was already sent. So after an error response has been
 * flushed, what the client still sends of its body is read and discarded, up to
 * {@value #MAX_DISCARD_BYTES} bytes and {@value #MAX_DISCARD_MILLIS} ms, and only then is the
 * connection closed. Memory: one small buffer. A client that stops sending without closing holds
 * the thread until the server's request deadline ({@code sun.net.httpserver.maxReqTime}, set by
 * {@link CaptionServer}) closes the connection, as a slow upload would.
 */
final class LingeringClose {

    /** Most bytes read and thrown away after an error response; a client sending more gets the reset. */
    static final long MAX_DISCARD_BYTES = 256L << 20;
    /** Longest time spent discarding; at 100 Mbit/s about 120 MiB arrive in it. */
    static final long MAX_DISCARD_MILLIS = 10_000;

    private static final Logger log = LoggerFactory.getLogger(LingeringClose.class);

    private LingeringClose() {
    }

    /** Reads and discards the rest of {@code body} within the bounds; a read failure ends it quietly. */
    static void discardRest(InputStream body) {
        byte[] buffer = new byte[64 * 1024];
        long discarded = 0;
        long deadline = System.nanoTime() + MAX_DISCARD_MILLIS * 1_000_000;
        try {
            int n;
            while (discarded < MAX_DISCARD_BYTES && System.nanoTime() < deadline
                    && (n = body.read(buffer, 0, (int) Math.min(buffer.length, MAX_DISCARD_BYTES - discarded))) >= 0) {
                discarded += n;
            }
        } catch (IOException e) {
            log.debug("the client's body ended with an error after {} discarded bytes: {}", discarded, e.toString());
            return;
        }
        if (discarded > 0) {
            log.debug("discarded {} bytes of a refused request's body", discarded);
        }
    }
}
