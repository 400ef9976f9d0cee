package dev.glimpse.vlmruntime.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.IntStream;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pruning at decoder layer boundaries (hook point 3) against HF layers run on the kept tokens. */
class PruningHookTest {

    /** A keep-all hook reproduces the plain run exactly through decode (the CPU backend is run-to-run deterministic). */
    @Test
    void keepAllHookIsBitIdenticalToNoHookThroughDecode() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            float[][] plain = run(f, null, 4);
            PrefillBehaviourTest.KeepAll hook = new PrefillBehaviourTest.KeepAll();
            float[][] hooked = run(f, hook, 4);
            assertEquals(f.decoder().config().numHiddenLayers(), hook.calls);
            for (int i = 0; i < plain.length; i++) {
                assertArrayEquals(plain[i], hooked[i], 0f, "step " + i);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"decoder-llama, ORIGINAL", "decoder-llama, CONTIGUOUS", "decoder-qwen2, ORIGINAL",
            "decoder-qwen2, CONTIGUOUS"})
    void droppingTokensAfterALayerMatchesHfLayersOnTheKeptTokens(String fixture, PositionMode mode) {
        try (DecoderFixture f = DecoderFixture.open(fixture)) {
            JsonNode pruning = f.expected().get("pruning");
            JsonNode expected = pruning.get(mode.name().toLowerCase(Locale.ROOT));
            int after = pruning.get("prune_after_layer").asInt();
            int[] dropped = ints(pruning.get("dropped"));
            int[] ids = f.inputIds();
            try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64).withPositionMode(mode))) {
                PrefillResult result = session.prefill(embed(f, ids), session.consecutivePositions(ids.length),
                        new Drop(after, dropped));
                float[] logits = session.logits().toFloatArray();
                assertTrue(maxAbsDiff(floats(expected.get("last_logits")), logits) <= 1e-3f,
                        "prefill max |diff| " + maxAbsDiff(floats(expected.get("last_logits")), logits));
                assertEquals(expected.get("next_token").asInt(), argmax(logits));
                session.decode(expected.get("next_token").asInt());
                float[] next = session.logits().toFloatArray();
                assertTrue(maxAbsDiff(floats(expected.get("next_logits")), next) <= 1e-3f,
                        "decode max |diff| " + maxAbsDiff(floats(expected.get("next_logits")), next));
                int layers = f.decoder().config().numHiddenLayers();
                int[] perLayer = new int[layers];
                int[] cacheLengths = new int[layers];
                for (int l = 0; l < layers; l++) {
                    perLayer[l] = l <= after ? ids.length : ids.length - dropped.length;
                    cacheLengths[l] = perLayer[l] + 1;
                }
                assertArrayEquals(perLayer, result.tokensPerLayer());
                assertArrayEquals(cacheLengths, session.cache().lengths());
            }
        }
    }

    @Test
    void prunedLayersCacheOnlyTheKeptTokens() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            int[] ids = f.inputIds();
            session.prefill(embed(f, ids), session.consecutivePositions(ids.length), new Drop(0, new int[] {2, 3}));
            int[] kept = IntStream.range(0, ids.length).filter(i -> i != 2 && i != 3).toArray();
            assertArrayEquals(IntStream.range(0, ids.length).toArray(), session.cache().tokens(0));
            assertArrayEquals(kept, session.cache().tokens(1));
            assertArrayEquals(kept, session.cache().tokens(2));
        }
    }

    @Test
    void prunedFlopsFollowThePapersFormulaPerLayer() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            int[] ids = f.inputIds();
            PrefillResult r = session.prefill(embed(f, ids), session.consecutivePositions(ids.length),
                    new Drop(1, new int[] {0, 1, 2}));
            int n = ids.length;
            double expected = 2 * (4.0 * n * 64 * 64 + 2.0 * n * n * 64 + 2.0 * n * 64 * 96)
                    + (4.0 * (n - 3) * 64 * 64 + 2.0 * (n - 3) * (n - 3) * 64 + 2.0 * (n - 3) * 64 * 96);
            assertEquals(expected, r.flops(), 1e-6 * expected);
            assertEquals(n - 3, r.keptTokens());
        }
    }

    @Test
    void hookSeesTheLastTokensAttentionRowAndColumnSumsAcrossChunks() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            int[] ids = f.inputIds();
            float[][] rows = new float[2][];
            float[][] sums = new float[2][];
            for (int run = 0; run < 2; run++) {
                int chunk = run == 0 ? 64 : 4;
                int slot = run;
                PruningHook hook = new PruningHook() {
                    @Override
                    public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
                        return layer == 1 ? Optional.of(new AttentionRequest(new int[] {activeTokens.length - 1}, true))
                                : Optional.empty();
                    }

                    @Override
                    public int[] keep(LayerAttention a) {
                        assertNotNull(a.rowProbs());
                        rows[slot] = a.rowProbs().toFloatArray();
                        sums[slot] = a.columnSums().toFloatArray();
                        return IntStream.range(0, a.activeTokens().length).toArray();
                    }
                };
                try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64).withPrefillChunkSize(chunk))) {
                    session.prefill(embed(f, ids), session.consecutivePositions(ids.length), hook);
                }
            }
            assertTrue(maxAbsDiff(rows[0], rows[1]) <= 1e-5f, "rows max |diff| " + maxAbsDiff(rows[0], rows[1]));
            assertTrue(maxAbsDiff(sums[0], sums[1]) <= 1e-4f, "sums max |diff| " + maxAbsDiff(sums[0], sums[1]));
            float rowSum = 0;
            for (int k = 0; k < ids.length; k++) {
                rowSum += rows[0][k];
            }
            assertEquals(1f, rowSum, 1e-5f);
            float columnTotal = 0;
            for (int k = 0; k < ids.length; k++) {
                columnTotal += sums[0][k];
            }
            assertEquals(ids.length, columnTotal, 1e-3f);
        }
    }

    @Test
    void hookDroppingTheLastTokenIsRejected() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama");
             DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            int[] ids = f.inputIds();
            assertThrows(IllegalArgumentException.class, () -> session.prefill(embed(f, ids),
                    session.consecutivePositions(ids.length), new Drop(0, new int[] {ids.length - 1})));
        }
    }

    private static Tensor embed(DecoderFixture f, int[] ids) {
        return f.decoder().embed(ids);
    }

    /** [prefill logits, then logits after each of {@code steps} greedy decode steps]. */
    private static float[][] run(DecoderFixture f, PruningHook hook, int steps) {
        int[] ids = f.inputIds();
        float[][] out = new float[steps + 1][];
        try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64).withPrefillChunkSize(7));
             Tensor e = f.decoder().embed(ids)) {
            session.prefill(e, session.consecutivePositions(ids.length), hook);
            out[0] = session.logits().toFloatArray();
            for (int i = 1; i <= steps; i++) {
                session.decode(argmax(out[i - 1]));
                out[i] = session.logits().toFloatArray();
            }
        }
        return out;
    }

    /** Drops fixed tokens (indices into the prefill) after one layer. */
    private record Drop(int layer, int[] dropped) implements PruningHook {
        @Override
        public Optional<AttentionRequest> before(int l, int[] activeTokens) {
            return l == layer ? Optional.of(AttentionRequest.none()) : Optional.empty();
        }

        @Override
        public int[] keep(LayerAttention attention) {
            int[] active = attention.activeTokens();
            return IntStream.range(0, active.length)
                    .filter(i -> Arrays.stream(dropped).noneMatch(d -> d == active[i])).toArray();
        }
    }
}
