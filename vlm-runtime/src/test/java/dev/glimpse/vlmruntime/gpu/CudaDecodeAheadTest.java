package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.GreedyPick;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.DecodeAheadProbe;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.vlmruntime.generate.GenerationResult;
import dev.glimpse.vlmruntime.generate.Generator;
import dev.glimpse.vlmruntime.generate.PromptInput;
import dev.glimpse.vlmruntime.generate.StopReason;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decode lookahead ({@value DecoderSession#DECODE_AHEAD_PROPERTY}{@code =true}: each greedy step queued
 * before the host reads the token it consumes) gives exactly what the step-by-step loop gives: the
 * same tokens, handed on once each in order, the same logits bit for bit after every run (a stop
 * discards a queued step and puts its logits back), the same lengths and positions, a plain decode
 * after a discarded step that sees the cache as the loop left it, the capacity stop, and a second
 * session on the pooled buffers of the first. The same for {@link Generator} requests on the LLaVA
 * fixture (its first case's image prompt, prepared on the GPU): max tokens, EOS and capacity stops,
 * and the streamed tokens, twice each on the pooled buffers; a seeded sampled request, which goes step
 * by step on the step graph made for lookahead, draws the same tokens. Two sessions in a row, each with its own
 * lookahead pick and saved logits and under {@value DecoderSession#POOL_DECODE_AHEAD_PROPERTY}{@code =true} with the
 * pooled set's (the second reusing the first's), give the step-by-step tokens and logits; a session ending
 * mid-lookahead (cancelled, or at a stop token) leaves the pooled pick with nothing queued for the next.
 */
class CudaDecodeAheadTest {

    /** What a scenario leaves: every token handed on, the logits after each run, and the lengths. */
    private record Trace(List<Integer> tokens, List<float[]> logits, List<Integer> lengths, int queuedAhead) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void greedyRunsAheadGiveTheStepByStepTokensLogitsAndLengths(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            Trace off = scenario(decoder, false);
            Trace ahead = scenario(decoder, true);
            assertEquals(0, off.queuedAhead(), "the flag off queues nothing ahead");
            assertTrue(ahead.queuedAhead() > 0, "the flag on must queue steps ahead");
            assertEquals(off.tokens(), ahead.tokens(), name + " tokens");
            assertEquals(off.lengths(), ahead.lengths(), name + " lengths and positions");
            assertEquals(off.logits().size(), ahead.logits().size());
            for (int i = 0; i < off.logits().size(); i++) {
                assertArrayEquals(off.logits().get(i), ahead.logits().get(i), name + " logits after run " + i
                        + " (max |diff| " + DecoderFixture.maxAbsDiff(off.logits().get(i), ahead.logits().get(i)) + ")");
            }
            System.out.println("PARITY decode ahead " + name + " exact: " + off.tokens().size() + " tokens, "
                    + ahead.queuedAhead() + " steps queued ahead");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void pooledLookaheadBuffersServeConsecutiveSessionsWithTheStepByStepTokensAndLogits(String name) {
        withLookahead(name, (decoder, stepByStep) -> {
            for (boolean pooled : new boolean[] {false, true}) {
                System.setProperty(DecoderSession.POOL_DECODE_AHEAD_PROPERTY, Boolean.toString(pooled));
                Object[] firstPick = new Object[1];
                Trace first = greedyRequest(decoder, firstPick);
                Object[] secondPick = new Object[1];
                Trace second = greedyRequest(decoder, secondPick);
                String label = name + (pooled ? " pooled" : " per session");
                assertTrue(firstPick[0] != null && secondPick[0] != null, label + ": both sessions picked on the device");
                assertEquals(pooled, firstPick[0] == secondPick[0], label + ": the second session reuses the first's pick");
                for (Trace t : List.of(first, second)) {
                    assertTrue(t.queuedAhead() > 0, label + ": steps queued ahead");
                    assertEquals(stepByStep.tokens(), t.tokens(), label + " tokens");
                    assertEquals(stepByStep.lengths(), t.lengths(), label + " lengths and positions");
                    assertArrayEquals(stepByStep.logits().getFirst(), t.logits().getFirst(), label + " logits");
                }
                System.out.println("PARITY decode ahead " + label + " buffers " + name + " exact: two sessions");
            }
        });
    }

    /**
     * A session that ends mid-lookahead on the pooled set (its caller throws at the 5th token, as a cancelled request
     * does; or a stop token at the 4th) leaves the pooled pick with nothing queued: the next session, which takes the
     * same pick, finds {@link GreedyPick#await} refusing (before {@link GreedyPick#settle} it returned the last
     * session's token) and decodes the step-by-step tokens and logits.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void aSessionEndingMidLookaheadLeavesThePooledPickUnqueuedForTheNext(String name) {
        withLookahead(name, (decoder, stepByStep) -> {
            System.setProperty(DecoderSession.POOL_DECODE_AHEAD_PROPERTY, "true");
            for (String ending : List.of("cancel", "stop token")) {
                Object[] endedPick = new Object[1];
                try (DecoderSession session = decoder.newSession(SessionOptions.of(40))) {
                    session.prefill(new int[] {1, 5, 9, 2});
                    int[] count = {0};
                    if (ending.equals("cancel")) {
                        assertThrows(IllegalStateException.class, () -> session.decodeGreedy(12, t -> {
                            if (++count[0] == 5) {
                                throw new IllegalStateException("cancelled");
                            }
                            return true;
                        }));
                    } else {
                        session.decodeGreedy(12, t -> ++count[0] < 4);
                    }
                    assertTrue(session.stepsQueuedAhead() > 0, name + " " + ending + ": steps queued ahead");
                    endedPick[0] = DecodeAheadProbe.pick(session);
                }
                Object[] nextPick = new Object[1];
                try (DecoderSession next = decoder.newSession(SessionOptions.of(40))) {
                    GreedyPick pick = (GreedyPick) DecodeAheadProbe.pick(next);
                    assertSame(endedPick[0], pick, name + " " + ending + ": the next session takes the pooled pick");
                    assertThrows(IllegalStateException.class, pick::await,
                            name + " after a " + ending + ": the pooled pick still counted the last session's pick as queued");
                }
                Trace after = greedyRequest(decoder, nextPick);
                assertSame(endedPick[0], nextPick[0], name + " " + ending + ": one pooled pick");
                assertEquals(stepByStep.tokens(), after.tokens(), name + " tokens after a " + ending);
                assertEquals(stepByStep.lengths(), after.lengths(), name + " lengths after a " + ending);
                assertArrayEquals(stepByStep.logits().getFirst(), after.logits().getFirst(), name + " logits after a " + ending);
            }
            System.out.println("PARITY decode ahead " + name + " pooled pick clean after a cancel and a stop token");
        });
    }

    /**
     * Loads fixture {@code name} on the GPU and runs {@code check} with its decoder and the trace of a step-by-step
     * {@link #greedyRequest} (the capacity bucket unset), lookahead then on; the lookahead, pooling and capacity
     * bucket properties are restored after.
     */
    private static void withLookahead(String name, BiConsumer<Decoder, Trace> check) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (SavedProperties saved = SavedProperties.of(DecoderSession.DECODE_AHEAD_PROPERTY,
                DecoderSession.POOL_DECODE_AHEAD_PROPERTY, DecoderSession.CAPACITY_BUCKET_PROPERTY);
             Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            System.clearProperty(DecoderSession.CAPACITY_BUCKET_PROPERTY);
            System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, "false");
            Trace stepByStep = greedyRequest(decoder, new Object[1]);
            System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, "true");
            check.accept(decoder, stepByStep);
        }
    }

    /** One session on the decoder's pooled buffers: prefill, 12 greedy tokens; {@code pick[0]}: the lookahead pick it used. */
    private static Trace greedyRequest(Decoder decoder, Object[] pick) {
        List<Integer> tokens = new ArrayList<>();
        List<float[]> logits = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(40))) {
            session.prefill(new int[] {1, 5, 9, 2});
            session.decodeGreedy(12, t -> tokens.add(t));
            record(session, logits, lengths);
            pick[0] = DecodeAheadProbe.pick(session);
            return new Trace(tokens, logits, lengths, session.stepsQueuedAhead());
        }
    }

    @Test
    void generatorRequestsOnTheLlavaFixtureStopAndStreamAsWithoutLookahead() {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of("llava-clip-llama");
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             LlavaModel model = LlavaModel.load(fixture.folder(), backend);
             PreparedPrompt prepared = model.prepare(fixture.prompt(), fixture.images().getFirst(), VisualHooks.NONE,
                     true)) {
            PromptInput prompt = new PromptInput(prepared.embeddings(), prepared.positions(), prepared.inputIds(), null);
            int length = prepared.inputIds().length;
            Generator generator = new Generator(model.decoder(), null);
            int[] full = request(generator, model, prompt, length + 32, GenerationOptions.greedy(16), false,
                    new ArrayList<>()).tokens();
            assertEquals(16, full.length);
            List<Object[]> cases = List.of(
                    new Object[] {"max tokens", length + 32, GenerationOptions.greedy(16), StopReason.MAX_NEW_TOKENS},
                    new Object[] {"eos", length + 32, GenerationOptions.greedy(16).withEosTokenIds(List.of(full[4])),
                            StopReason.EOS},
                    new Object[] {"capacity", length + 6, GenerationOptions.greedy(16), StopReason.CAPACITY},
                    new Object[] {"sampling (step by step)", length + 32,
                            GenerationOptions.greedy(16).withSampling(1.5, 0, 1.0, 42), StopReason.MAX_NEW_TOKENS});
            for (Object[] c : cases) {
                int capacity = (int) c[1];
                GenerationOptions options = (GenerationOptions) c[2];
                GenerationResult expected = request(generator, model, prompt, capacity, options, false, new ArrayList<>());
                assertEquals(c[3], expected.stopReason(), c[0] + " (flag off)");
                for (int repeat = 0; repeat < 2; repeat++) {
                    List<Integer> streamed = new ArrayList<>();
                    GenerationResult actual = request(generator, model, prompt, capacity, options, true, streamed);
                    assertEquals(expected.stopReason(), actual.stopReason(), c[0] + " stop reason");
                    assertArrayEquals(expected.tokens(), actual.tokens(), c[0] + " tokens");
                    assertArrayEquals(actual.tokens(), streamed.stream().mapToInt(Integer::intValue).toArray(),
                            c[0] + " streamed once each, in order");
                }
            }
            System.out.println("PARITY decode ahead llava-clip-llama generator exact (max tokens, eos, capacity, sampling)");
        }
    }

    /**
     * Two sessions (the second on the first's pooled buffers), each: prefill, 10 greedy tokens; prefill
     * more, a stop at the 4th token; a plain decode of it and its greedy token; greedy to the capacity
     * stop (a session of 40 tokens).
     */
    private static Trace scenario(Decoder decoder, boolean ahead) {
        List<Integer> tokens = new ArrayList<>();
        List<float[]> logits = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        int queued = 0;
        try (SavedProperties saved = SavedProperties.of(DecoderSession.DECODE_AHEAD_PROPERTY)) {
            System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, Boolean.toString(ahead));
            for (int s = 0; s < 2; s++) {
                try (DecoderSession session = decoder.newSession(SessionOptions.of(40))) {
                    assertEquals(ahead, session.decodesAhead());
                    session.prefill(new int[] {1, 5, 9, 2});
                    session.decodeGreedy(10, t -> tokens.add(t));
                    record(session, logits, lengths);
                    session.prefill(new int[] {3, 7});
                    int[] count = {0};
                    session.decodeGreedy(100, t -> {
                        tokens.add(t);
                        return ++count[0] < 4;
                    });
                    record(session, logits, lengths);
                    session.decode(tokens.getLast());
                    tokens.add(session.greedyToken());
                    record(session, logits, lengths);
                    session.decodeGreedy(100, t -> {
                        tokens.add(t);
                        return session.cache().remaining() >= 1;
                    });
                    record(session, logits, lengths);
                    queued += session.stepsQueuedAhead();
                }
            }
        }
        return new Trace(tokens, logits, lengths, queued);
    }

    private static void record(DecoderSession session, List<float[]> logits, List<Integer> lengths) {
        float[] l = new float[session.logits().dim(1)];
        session.copyLogits(l);
        logits.add(l);
        lengths.add(session.length());
        lengths.add(session.nextPosition());
        lengths.add(session.cache().remaining());
    }

    /** One request in a session of {@code capacity} with the flag set to {@code ahead}, its tokens streamed into {@code streamed}. */
    private static GenerationResult request(Generator generator, LlavaModel model, PromptInput prompt, int capacity,
                                            GenerationOptions options, boolean ahead, List<Integer> streamed) {
        try (SavedProperties saved = SavedProperties.of(DecoderSession.DECODE_AHEAD_PROPERTY);
             DecoderSession session = sessionWithAhead(model, capacity, ahead)) {
            assertEquals(ahead, session.decodesAhead());
            GenerationResult result = generator.generate(session, prompt, options, (id, text) -> streamed.add(id));
            if (options.doSample()) {
                assertEquals(0, session.stepsQueuedAhead(), "sampled requests go step by step");
            } else if (ahead && result.tokens().length >= 4) {
                assertTrue(session.stepsQueuedAhead() > 0, "steps run ahead from the third token (the graph is captured)");
            }
            return result;
        }
    }

    /** A session of {@code capacity} opened under {@code -Dglimpse.cuda.decodeAhead=ahead}. */
    private static DecoderSession sessionWithAhead(LlavaModel model, int capacity, boolean ahead) {
        System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, Boolean.toString(ahead));
        return model.decoder().newSession(SessionOptions.of(capacity));
    }
}
