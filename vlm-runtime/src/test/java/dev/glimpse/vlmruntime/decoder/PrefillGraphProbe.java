package dev.glimpse.vlmruntime.decoder;

/** What the GPU tests of prefill graphs read of a session's pooled buffers. */
public final class PrefillGraphProbe {

    private PrefillGraphProbe() {
    }

    /** Prefill graphs (captured, not failed) that {@code session}'s buffers hold. */
    public static int graphsHeld(DecoderSession session) {
        return session.prefillGraphsHeld();
    }
}
