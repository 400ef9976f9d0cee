package dev.glimpse.vlmruntime.decoder;

/** What the GPU tests of decode lookahead read of a session's pooled buffers. */
public final class DecodeAheadProbe {

    private DecodeAheadProbe() {
    }

    /** How many times {@code session}'s pooled buffers made lookahead's pick and saved logits ({@link DecodeAheadBuffers}). */
    public static int buffersMade(DecoderSession session) {
        return session.decodeAheadBuffersMade();
    }
}
