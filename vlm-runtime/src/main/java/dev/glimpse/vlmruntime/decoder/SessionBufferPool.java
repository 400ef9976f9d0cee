package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.BooleanProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * The {@link SessionBuffers} of the last closed {@link DecoderSession}, kept by its {@link Decoder}
 * for the next session of the same shape. A session's creation otherwise allocated and
 * zero-filled about 80 device buffers (two per layer for the KV cache, a dozen of scratch, the
 * step rows and logits: one {@code cudaMallocAsync} and one {@code cudaMemsetAsync} each, the
 * memsets queued ahead of the prefill) and the host copy of the logits, all inside the request's
 * time to first token; a warm request of a repeated shape now takes them as they are. The shape's
 * capacity is the requested one rounded up to a bucket under {@value CapacityBuckets#PROPERTY}, so
 * under it requests of different but similar lengths (a serving process's) repeat a shape too, and
 * a request also takes an idle set larger than its bucket ({@link SessionBuffers.Shape#holds}): the
 * idle set then grows to the largest bucket the process has seen and stays there, instead of a mix of
 * buckets freeing and allocating sets (and losing their prefill graphs) at every change of bucket.
 *
 * <p>At most one set is kept idle, and a request of another shape closes it before allocating its
 * own, so the device memory held at any time is at most what it was without the pool while a
 * session is open; between sessions the idle set stays allocated (about the KV cache and scratch of
 * the last request) instead of returning to the allocator's cache. Reuse is stream-ordered: a
 * session's device work is queued on the backend's one stream, so the next session's work on the
 * same buffers runs after it. {@value #PROPERTY}{@code =false} turns reuse off (every session
 * allocates, and closes, its own set). Thread-safe.
 */
final class SessionBufferPool implements AutoCloseable {

    /** System property: "false" gives every session freshly allocated buffers (read at every session). */
    static final String PROPERTY = "glimpse.decoder.reuseSessionBuffers";

    private static final Logger LOG = LoggerFactory.getLogger(SessionBufferPool.class);

    private SessionBuffers idle;
    private boolean closed;

    /**
     * The idle set when it has {@code shape}, or with {@code orLarger} when it holds at least as much
     * ({@link SessionBuffers.Shape#holds}), its KV cache emptied; else a fresh one from {@code allocate}.
     */
    SessionBuffers take(SessionBuffers.Shape shape, boolean orLarger, Supplier<SessionBuffers> allocate) {
        SessionBuffers stale = null;
        synchronized (this) {
            if (idle != null) {
                boolean fits = idle.shape().equals(shape) || orLarger && idle.shape().holds(shape);
                if (fits && enabled()) {
                    SessionBuffers reused = idle;
                    idle = null;
                    reused.cache().clear();
                    return reused;
                }
                stale = idle;
                idle = null;
            }
        }
        if (stale != null) {
            LOG.debug("session buffers for {} dropped for a session of {}", stale.shape(), shape);
            stale.close();
        }
        return allocate.get();
    }

    /** Keeps {@code buffers} for the next session of its shape (closing the set it replaces), or closes it. */
    void give(SessionBuffers buffers) {
        SessionBuffers replaced;
        synchronized (this) {
            if (idle == buffers) {
                return;
            }
            if (closed || !enabled()) {
                replaced = buffers;
            } else {
                replaced = idle;
                idle = buffers;
            }
        }
        if (replaced != null) {
            replaced.close();
        }
    }

    /** Frees the idle set; sessions closed later free their own. */
    @Override
    public void close() {
        SessionBuffers last;
        synchronized (this) {
            closed = true;
            last = idle;
            idle = null;
        }
        if (last != null) {
            last.close();
        }
    }

    static boolean enabled() {
        return BooleanProperty.read(PROPERTY, true);
    }
}
