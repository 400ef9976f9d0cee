package dev.glimpse.vlmruntime.decoder;

/** What the GPU tests of decode lookahead read of a session's pooled buffers. */
public final class DecodeAheadProbe {

    private DecodeAheadProbe() {
    }

    /** The lookahead pick {@code session} used ({@link DecodeAheadBuffers}), null before any: equal picks, one set. */
    public static Object pick(DecoderSession session) {
        return session.decodeAheadPick();
    }
}
