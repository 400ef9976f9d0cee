package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphProbe;
import dev.glimpse.vlmruntime.decoder.PruningHook;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Decoder prefills replayed from CUDA graphs ({@code -Dglimpse.cuda.prefillGraphs=true}) against the
 * op-by-op prefill of the same input on the same backend and decoder (so the same cuBLASLt choices):
 * per prompt length the first request runs op by op, the second captures a graph, later ones replay
 * it, each in a new session on the pooled buffers. Every request has other tokens and other position
 * gaps, so a replay that did not re-read its embeddings or rotary rows would give the previous
 * request's logits; the prefill logits, then three greedy decode steps (which read the KV cache the
 * replay wrote) must match op by op bit for bit: the graph holds the very kernels the op-by-op
 * prefill launches. A second prompt length (a new key) after the replays, the first again after it,
 * and prefills a graph cannot hold (a pruning hook, two prefill chunks) are covered too; with the
 * fused prefill ops on and off, on a multi-head Llama and a grouped-query Qwen2
 * ({@link SyntheticDecoders}) at LLaVA-1.5-7B's 64-token-budget prompt length (74 rows), and on a
 * BF16 LLaVA fixture's prompts, two images alternating under VTC-CLS (other kept tokens, other
 * position gaps, one prompt length).
 */
class CudaPrefillGraphsTest {

    static final int DECODE_STEPS = 3;

    @TempDir
    Path dir;

    @AfterEach
    void propertiesBack() {
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
        System.clearProperty(CudaBackend.PREFILL_FUSION_PROPERTY);
    }

    /** A request: its prefill logits, then the greedy tokens and logits of each decode step; the session's length. */
    record Run(float[][] logits, int[] tokens, int length) {
    }

    @ParameterizedTest(name = "{0} fusion={1}")
    @CsvSource({"llama, false", "llama, true", "qwen2, false", "qwen2, true"})
    void replayedPrefillsGiveTheOpByOpLogitsAndCache(String family, boolean fusion) {
        CudaSupport.requireCuda();
        System.setProperty(CudaBackend.PREFILL_FUSION_PROPERTY, Boolean.toString(fusion));
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 13, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            String label = family + " fusion=" + fusion;
            int[] lengths = {74, 74, 74, 40, 40, 40, 74};
            int[] held = {0, 1, 1, 1, 2, 2, 2};
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            List<Run> off = new ArrayList<>();
            for (int r = 0; r < lengths.length; r++) {
                off.add(request(decoder, lengths[r], r, SessionOptions.of(256), null, s -> 0));
            }
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            for (int r = 0; r < lengths.length; r++) {
                int request = r;
                Run on = request(decoder, lengths[r], r, SessionOptions.of(256), null, s -> {
                    assertEquals(held[request], PrefillGraphProbe.graphsHeld(s), label + " request " + request
                            + ": graphs held after its prefill (0: op by op, then captured, then replayed)");
                    return 0;
                });
                assertSameRun(label + " request " + r + " (" + lengths[r] + " rows)", off.get(r), on);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void prefillsAGraphCannotHoldRunOpByOp(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 17, 1024);
        PruningHook keepAll = PrefillGraphProbe.keepAllHook();
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            SessionOptions chunked = SessionOptions.of(256).withPrefillChunkSize(32);
            Run hookOff = request(decoder, 74, 0, SessionOptions.of(256), keepAll, s -> 0);
            Run chunkedOff = request(decoder, 74, 1, chunked, null, s -> 0);
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            for (int r = 0; r < 3; r++) {
                String label = family + " request " + r;
                assertSameRun(label + " with a hook", hookOff, request(decoder, 74, 0, SessionOptions.of(256), keepAll,
                        s -> assertNoGraph(s, label + " with a hook")));
                assertSameRun(label + " in two chunks", chunkedOff, request(decoder, 74, 1, chunked, null,
                        s -> assertNoGraph(s, label + " in two chunks")));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llava-clip-llama-bf16"})
    void replayedLlavaPrefillsGiveTheOpByOpLogits(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(8));
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            int calls = 4;
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            List<Run> off = new ArrayList<>();
            for (int call = 0; call < calls; call++) {
                off.add(llavaRequest(model, fixture, call, plan, s -> 0));
            }
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            for (int call = 0; call < calls; call++) {
                int expectedHeld = call == 0 ? 0 : 1;
                String label = name + " call " + call + " (image " + call % 2 + ")";
                Run on = llavaRequest(model, fixture, call, plan, s -> {
                    assertEquals(expectedHeld, PrefillGraphProbe.graphsHeld(s), label + ": graphs held after its prefill");
                    return 0;
                });
                assertSameRun(label, off.get(call), on);
            }
        }
    }

    /** The fixture's prompt with image {@code call % 2}, pruned by {@code plan}, prefilled then decoded greedily. */
    private static Run llavaRequest(LlavaModel model, TwoImagePrompt fixture, int call, PruningPlan plan,
                                    ToIntFunction<DecoderSession> afterPrefill) {
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), fixture.images().get(call % 2));
        try (PreparedPrompt prepared = model.prepare(fixture.prompt(), fixture.images().get(call % 2),
                pruning.visualHooks(), true)) {
            SessionOptions options = SessionOptions.of(prepared.inputIds().length + DECODE_STEPS + 1);
            return decodeRun(model.decoder(), options, prepared.embeddings(), prepared.positions(),
                    pruning.decoderHook(prepared), afterPrefill);
        }
    }

    private static int assertNoGraph(DecoderSession s, String label) {
        assertEquals(0, PrefillGraphProbe.graphsHeld(s), label + ": graphs held");
        return 0;
    }

    /**
     * Request {@code r}: {@code rows} tokens of its own at positions with a gap of {@code 3 r} after
     * the sixth token, prefilled with {@code hook} in a new session, {@code afterPrefill} called, then
     * {@value #DECODE_STEPS} greedy steps.
     */
    static Run request(Decoder decoder, int rows, int r, SessionOptions options, PruningHook hook,
                               ToIntFunction<DecoderSession> afterPrefill) {
        int[] ids = new int[rows];
        int[] positions = new int[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (i * 37 + 11 * r + 5) % SyntheticDecoders.VOCAB;
            positions[i] = i + (i >= 6 ? 3 * r : 0);
        }
        try (Tensor embeddings = decoder.embed(ids)) {
            Run run = decodeRun(decoder, options, embeddings, positions, hook, afterPrefill);
            assertEquals(rows + DECODE_STEPS, run.length(), "tokens in the session");
            return run;
        }
    }

    /** A new session: the prefill, {@code afterPrefill}, then {@value #DECODE_STEPS} greedy steps. */
    static Run decodeRun(Decoder decoder, SessionOptions options, Tensor embeddings, int[] positions,
                                 PruningHook hook, ToIntFunction<DecoderSession> afterPrefill) {
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(options)) {
            float[][] logits = new float[DECODE_STEPS + 1][vocab];
            int[] tokens = new int[DECODE_STEPS + 1];
            session.prefill(embeddings, positions, hook);
            afterPrefill.applyAsInt(session);
            for (int step = 0; step <= DECODE_STEPS; step++) {
                if (step > 0) {
                    session.decode(tokens[step - 1]);
                }
                session.copyLogits(logits[step]);
                tokens[step] = session.greedyToken();
            }
            return new Run(logits, tokens, session.length());
        }
    }

    private static void assertSameRun(String label, Run expected, Run actual) {
        for (int step = 0; step < expected.logits().length; step++) {
            assertArrayEquals(expected.logits()[step], actual.logits()[step], label + " step " + step + ": logits");
        }
        assertArrayEquals(expected.tokens(), actual.tokens(), label + ": greedy tokens");
        System.out.println("GPU-PARITY prefill-graphs " + label + ": bit-identical to op by op");
    }
}
