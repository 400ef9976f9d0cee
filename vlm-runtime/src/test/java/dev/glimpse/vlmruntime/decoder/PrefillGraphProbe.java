package dev.glimpse.vlmruntime.decoder;

import java.util.Optional;

/** What the tests of prefill graphs read of a session's pooled buffers, and the hook they pass. */
public final class PrefillGraphProbe {

    private PrefillGraphProbe() {
    }

    /** Prefill graphs (captured, not failed) that {@code session}'s buffers hold. */
    public static int graphsHeld(DecoderSession session) {
        return session.prefillGraphsHeld();
    }

    /**
     * A pruning hook that asks for no attention and keeps every token: a prefill with it must still
     * run op by op (the hook's place is host work between layers), with the bits of one without it.
     */
    public static PruningHook keepAllHook() {
        return new PruningHook() {
            @Override
            public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
                return Optional.empty();
            }

            @Override
            public int[] keep(LayerAttention attention) {
                throw new AssertionError("no attention was requested");
            }
        };
    }
}
