package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.GreedyPick;

/**
 * What decode lookahead ({@value DecoderSession#DECODE_AHEAD_PROPERTY}) needs besides the session's own
 * buffers: the device argmax ({@link GreedyPick}: candidate buffers, a pinned slot and an event) and the
 * logits a discarded step overwrote, made at the first lookahead. A session uses the pooled
 * {@link SessionBuffers}' set (under {@value DecoderSession#POOL_DECODE_AHEAD_PROPERTY}{@code =false} it holds
 * its own, freed when it closes), made by the first session of the set that decodes ahead and kept for the next
 * ones, so a serving process's requests (one session each) allocate none of it and create no event. Reuse is
 * stream-ordered like the rest of the set: every pick is awaited before its token is used, and a new pick is
 * queued behind the last one on the one stream. A session settles the pooled set when it takes it and when it
 * closes ({@link #settle}): none finds a pick of an earlier one queued. Not thread-safe (one session holds the set
 * at a time).
 */
final class DecodeAheadBuffers implements AutoCloseable {

    private GreedyPick pick;
    private Tensor savedLogits;

    /** The greedy pick over {@code vocab} logits, made on the first call. */
    GreedyPick pick(CudaBackend backend, int vocab) {
        make(backend, vocab);
        return pick;
    }

    /** F32 [1, vocab] for the logits a queued step overwrites, made on the first call. */
    Tensor savedLogits(CudaBackend backend, int vocab) {
        make(backend, vocab);
        return savedLogits;
    }

    /** The pick once made, else null; for tests (which set of buffers a session used). */
    GreedyPick madePick() {
        return pick;
    }

    private void make(CudaBackend backend, int vocab) {
        if (pick != null) {
            return;
        }
        GreedyPick p = backend.greedyPick(vocab);
        try {
            savedLogits = backend.allocate(DType.F32, 1, vocab);
        } catch (RuntimeException | Error e) {
            p.close();
            throw e;
        }
        pick = p;
    }

    /**
     * Waits for a pick still queued and forgets it ({@link GreedyPick#settle}), so the set holds no queued pick for
     * the session that takes it next, however the last one ended: a stop token, an exception from its caller (a
     * cancelled request) or a failed launch between queueing a pick and awaiting it. Nothing when no pick was made.
     */
    void settle() {
        if (pick != null) {
            pick.settle();
        }
    }

    /** Waits for a queued pick and frees everything. */
    @Override
    public void close() {
        if (pick != null) {
            pick.close();
            savedLogits.close();
            pick = null;
            savedLogits = null;
        }
    }
}
