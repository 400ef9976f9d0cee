package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Optional;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chunking, multi-call prefill and decode agree with one whole prefill. */
class PrefillBehaviourTest {

    @ParameterizedTest(name = "chunk {0}")
    @ValueSource(ints = {1, 5, 16})
    void chunkedPrefillEqualsUnchunked(int chunk) {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2")) {
            float[] whole = prefillLogits(f, SessionOptions.of(64));
            float[] chunked = prefillLogits(f, SessionOptions.of(64).withPrefillChunkSize(chunk));
            assertTrue(maxAbsDiff(whole, chunked) <= 1e-5f, "max |diff| " + maxAbsDiff(whole, chunked));
        }
    }

    @Test
    void prefillInTwoCallsEqualsOneCall() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            int[] ids = f.inputIds();
            session.prefill(Arrays.copyOf(ids, 10));
            session.prefill(Arrays.copyOfRange(ids, 10, ids.length));
            float[] whole = prefillLogits(f, SessionOptions.of(64));
            assertTrue(maxAbsDiff(whole, session.logits().toFloatArray()) <= 1e-5f);
            assertEquals(ids.length, session.length());
            assertEquals(ids.length, session.nextPosition());
        }
    }

    @Test
    void decodeStepEqualsPrefillOfTheLongerPrompt() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            int[] ids = f.inputIds();
            float[] stepped;
            try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
                session.prefill(Arrays.copyOf(ids, ids.length - 1));
                session.decode(ids[ids.length - 1]);
                stepped = session.logits().toFloatArray();
            }
            assertTrue(maxAbsDiff(prefillLogits(f, SessionOptions.of(64)), stepped) <= 1e-5f);
        }
    }

    @Test
    void prefillBeyondCapacityIsRejectedWithTheSetting() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(8))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> session.prefill(f.inputIds()));
            assertTrue(e.getMessage().contains("maxSequenceLength"), e.getMessage());
        }
    }

    @Test
    void prunedTokensKeepTheirOriginalPositionsByDefault() {
        assertEquals(PositionMode.ORIGINAL, SessionOptions.of(8).positionMode());
    }

    @Test
    void embedReturnsTheEmbeddingRows() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2");
             Tensor e = f.decoder().embed(new int[] {5, 7})) {
            Tensor table = f.decoder().weights().embedTokens();
            assertArrayEquals(table.select(0, 7).toFloatArray(), e.select(0, 1).toFloatArray());
        }
    }

    static float[] prefillLogits(DecoderFixture f, SessionOptions options) {
        try (DecoderSession session = f.decoder().newSession(options)) {
            session.prefill(f.inputIds());
            return session.logits().toFloatArray();
        }
    }

    /** A hook that asks for attention at every layer and keeps everything. */
    static final class KeepAll implements PruningHook {
        int calls;

        @Override
        public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
            return Optional.of(new AttentionRequest(new int[] {activeTokens.length - 1, 0}, true));
        }

        @Override
        public int[] keep(LayerAttention attention) {
            calls++;
            int[] all = new int[attention.activeTokens().length];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return all;
        }
    }
}
