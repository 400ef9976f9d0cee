package dev.glimpse.vlmruntime.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.stream.IntStream;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prefill at explicit positions (HF's {@code position_ids}): 0..n-1 is the default prefill bit for
 * bit; positions with gaps (the kept tokens of pruning before the LLM at their unpruned positions)
 * match HF's forward with those {@code position_ids}, and decoding continues at the last position + 1
 * (fixtures/decoder-*&#47;positions.json, tools/fixtures/make_position_fixtures.py).
 */
class ExplicitPositionsTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void positionsZeroToNMinusOneAreBitIdenticalToTheDefaultPrefill(String name) {
        try (DecoderFixture f = DecoderFixture.open(name)) {
            int[] ids = f.inputIds();
            float[][] plain = prefillThenDecode(f, ids, null);
            float[][] given = prefillThenDecode(f, ids, IntStream.range(0, ids.length).toArray());
            assertArrayEquals(plain[0], given[0], "prefill logits");
            assertArrayEquals(plain[1], given[1], "decode-step logits");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void aPrefillWithGapsMatchesHfWithThosePositionIds(String name) {
        try (DecoderFixture f = DecoderFixture.open(name);
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            JsonNode hf = positionsReference(name);
            int[] positions = ints(hf.get("position_ids"));
            try (Tensor embeddings = f.decoder().embed(ints(hf.get("kept_input_ids")))) {
                session.prefill(embeddings, positions, null);
            }
            float prefillDiff = maxAbsDiff(floats(hf.get("last_logits")), session.logits().toFloatArray());
            assertTrue(prefillDiff <= 1e-4f, "prefill logits max |diff| vs HF " + prefillDiff);
            assertEquals(hf.get("next_position").asInt(), session.nextPosition());
            session.decode(hf.get("next_token").asInt());
            float decodeDiff = maxAbsDiff(floats(hf.get("next_logits")), session.logits().toFloatArray());
            assertTrue(decodeDiff <= 1e-4f, "decode logits max |diff| vs HF " + decodeDiff);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void theSameTokensAtContiguousPositionsDoNotMatchTheGappedReference(String name) {
        try (DecoderFixture f = DecoderFixture.open(name)) {
            JsonNode hf = positionsReference(name);
            int[] kept = ints(hf.get("kept_input_ids"));
            float[] contiguous = prefillThenDecode(f, kept, null)[0];
            float diff = maxAbsDiff(floats(hf.get("last_logits")), contiguous);
            assertTrue(diff > 1e-2f, "the reference does not tell positions apart: max |diff| " + diff);
        }
    }

    @Test
    void positionsMustBeStrictlyIncreasing() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64));
             Tensor embeddings = f.decoder().embed(new int[] {5, 6, 7})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> session.prefill(embeddings, new int[] {0, 4, 4}, null));
            assertTrue(e.getMessage().contains("strictly increasing"), e.getMessage());
        }
    }

    /** Logits after prefilling {@code ids} (at {@code positions}, or the default ones when null) and after one greedy step. */
    private static float[][] prefillThenDecode(DecoderFixture f, int[] ids, int[] positions) {
        try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            if (positions == null) {
                session.prefill(ids);
            } else {
                try (Tensor embeddings = f.decoder().embed(ids)) {
                    session.prefill(embeddings, positions, null);
                }
            }
            float[] prefill = session.logits().toFloatArray();
            session.decode(session.greedyToken());
            return new float[][] {prefill, session.logits().toFloatArray()};
        }
    }

    private static JsonNode positionsReference(String name) {
        try {
            return new ObjectMapper().readTree(DecoderFixture.folder(name).resolve("positions.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
