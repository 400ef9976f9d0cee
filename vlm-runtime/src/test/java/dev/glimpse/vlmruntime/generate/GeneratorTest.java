package dev.glimpse.vlmruntime.generate;

import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generation loop against HF generate() on the tiny decoders. */
class GeneratorTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void greedyGenerationEqualsHfGenerate(String fixture) {
        try (DecoderFixture f = DecoderFixture.open(fixture)) {
            GenerationResult r = generate(f, GenerationOptions.greedy(8), null, TokenListener.NONE);
            assertArrayEquals(ints(f.expected().get("greedy_tokens")), r.tokens());
            assertEquals(StopReason.MAX_NEW_TOKENS, r.stopReason());
            assertEquals(f.inputIds().length, r.promptTokens());
            assertNull(r.text());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void repetitionPenaltyEqualsHfGenerate(String fixture) {
        try (DecoderFixture f = DecoderFixture.open(fixture)) {
            GenerationResult r = generate(f, GenerationOptions.greedy(8).withRepetitionPenalty(1.3), null,
                    TokenListener.NONE);
            assertArrayEquals(ints(f.expected().get("greedy_tokens_repetition_penalty_1.3")), r.tokens());
        }
    }

    @Test
    void eosTokenStopsGenerationAndIsReturned() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            int[] greedy = ints(f.expected().get("greedy_tokens"));
            GenerationResult r = generate(f, GenerationOptions.greedy(8).withEosTokenIds(List.of(999, greedy[2])), null,
                    TokenListener.NONE);
            assertArrayEquals(Arrays.copyOf(greedy, 3), r.tokens());
            assertEquals(StopReason.EOS, r.stopReason());
        }
    }

    @Test
    void listenerReceivesEveryTokenInOrder() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2")) {
            List<Integer> streamed = new ArrayList<>();
            GenerationResult r = generate(f, GenerationOptions.greedy(5), null, (id, text) -> streamed.add(id));
            assertArrayEquals(r.tokens(), streamed.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    @Test
    void samplingIsDeterministicForASeed() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            GenerationOptions sampled = GenerationOptions.greedy(8).withSampling(1.5, 0, 1.0, 42);
            int[] a = generate(f, sampled, null, TokenListener.NONE).tokens();
            int[] b = generate(f, sampled, null, TokenListener.NONE).tokens();
            int[] c = generate(f, GenerationOptions.greedy(8).withSampling(1.5, 0, 1.0, 43), null,
                    TokenListener.NONE).tokens();
            assertArrayEquals(a, b);
            assertNotEquals(Arrays.toString(a), Arrays.toString(c));
        }
    }

    @Test
    void samplingWithTopKOneIsGreedy() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2")) {
            GenerationResult r = generate(f, GenerationOptions.greedy(8).withSampling(0.7, 1, 0.9, 5), null,
                    TokenListener.NONE);
            assertArrayEquals(ints(f.expected().get("greedy_tokens")), r.tokens());
        }
    }

    @Test
    void textAndStopStringsComeFromTheTokenizer() {
        try (DecoderFixture f = DecoderFixture.open("decoder-qwen2");
             Tokenizer tokenizer = Tokenizer.load(DecoderFixture.folder("tokenizers/qwen2-bpe"))) {
            int[] greedy = ints(f.expected().get("greedy_tokens"));
            StringBuilder streamed = new StringBuilder();
            GenerationResult full = generate(f, GenerationOptions.greedy(8), tokenizer, new TokenListener() {
                @Override
                public void onToken(int id, String text) {
                    streamed.append(text);
                }

                @Override
                public void onEnd(String heldBackText) {
                    streamed.append(heldBackText);
                }
            });
            assertEquals(tokenizer.decode(greedy, true), full.text());
            assertEquals(full.text(), streamed.toString());
            String firstTwo = tokenizer.decode(Arrays.copyOf(greedy, 2), true);
            String stop = firstTwo.substring(Math.max(0, firstTwo.length() - 2));
            assertFalse(tokenizer.decode(Arrays.copyOf(greedy, 1), true).contains(stop), "stop string must need token 2");
            GenerationResult stopped = generate(f, GenerationOptions.greedy(8).withStopStrings(List.of(stop)), tokenizer,
                    TokenListener.NONE);
            assertEquals(StopReason.STOP_STRING, stopped.stopReason());
            assertArrayEquals(Arrays.copyOf(greedy, 2), stopped.tokens());
        }
    }

    @Test
    void resultReportsTimingsAndPrefillFlops() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            GenerationResult r = generate(f, GenerationOptions.greedy(4), null, TokenListener.NONE);
            assertTrue(r.prefillNanos() > 0 && r.decodeNanos() > 0);
            assertTrue(r.prefill().flops() > 0);
            assertEquals(4, r.generatedTokens());
        }
    }

    @Test
    void checkpointDefaultsComeFromGenerationConfig() {
        Path folder = DecoderFixture.folder("llava-siglip-qwen2");
        TextConfig text = LlavaConfig.load(folder.resolve("config.json")).text();
        GenerationOptions options = GenerationOptions.fromCheckpoint(folder, text, 16);
        assertEquals(List.of(702), options.eosTokenIds());
        assertFalse(options.doSample());
        assertEquals(16, options.maxNewTokens());
    }

    private static GenerationResult generate(DecoderFixture f, GenerationOptions options, Tokenizer tokenizer,
                                             TokenListener listener) {
        try (DecoderSession session = f.decoder().newSession(SessionOptions.of(64))) {
            return new Generator(f.decoder(), tokenizer).generate(session, f.inputIds(), options, listener);
        }
    }
}
