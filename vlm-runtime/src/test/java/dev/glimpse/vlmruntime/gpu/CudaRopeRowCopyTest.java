package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.RopeTables;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * GPU-only: {@code -Dglimpse.cuda.ropeRowCopy=true} (a prefill's rotary rows for one run of
 * consecutive positions copied from the precomputed tables instead of gathered through uploaded
 * positions) gives the logits and greedy tokens of the default gather bit for bit: prefills from
 * position 0 (op by op, captured into a prefill graph, replayed), a second prefill continuing a
 * session (a run that starts past 0), positions with a gap (gathered either way), with prefill
 * graphs on and off, on a multi-head Llama and a grouped-query Qwen2 ({@link SyntheticDecoders}),
 * and LLaVA requests under VTC-CLS (contiguous positions: the TTFT request's path).
 */
class CudaRopeRowCopyTest {

    @TempDir
    Path dir;

    @AfterEach
    void propertiesBack() {
        System.clearProperty(RopeTables.ROW_COPY_PROPERTY);
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
    }

    @ParameterizedTest(name = "{0} prefillGraphs={1}")
    @CsvSource({"llama, true", "llama, false", "qwen2, true", "qwen2, false"})
    void copiedRowsGiveTheGatheredRowsLogits(String family, boolean graphs) {
        CudaSupport.requireCuda();
        System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, Boolean.toString(graphs));
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 31, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            List<List<CudaPrefillGraphsTest.Run>> byValue = new ArrayList<>();
            for (boolean rowCopy : new boolean[] {false, true}) {
                System.setProperty(RopeTables.ROW_COPY_PROPERTY, Boolean.toString(rowCopy));
                List<CudaPrefillGraphsTest.Run> runs = new ArrayList<>();
                for (int r = 0; r < 4; r++) { // op by op, capture, replay, replay (graphs on)
                    runs.add(CudaPrefillGraphsTest.request(decoder, 74, 0, SessionOptions.of(256), null, s -> 0));
                }
                runs.add(CudaPrefillGraphsTest.request(decoder, 74, 2, SessionOptions.of(256), null, s -> 0));
                runs.add(twoPrefills(decoder, 40, 34));
                byValue.add(runs);
            }
            for (int i = 0; i < byValue.getFirst().size(); i++) {
                assertSameRun(family + " prefillGraphs=" + graphs + " request " + i, byValue.get(0).get(i),
                        byValue.get(1).get(i));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llava-clip-llama", "llava-clip-llama-bf16"})
    void copiedRowsGiveTheGatheredRowsLogitsOfLlavaRequests(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(8));
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            int calls = 4;
            List<List<CudaPrefillGraphsTest.Run>> byValue = new ArrayList<>();
            for (boolean rowCopy : new boolean[] {false, true}) {
                System.setProperty(RopeTables.ROW_COPY_PROPERTY, Boolean.toString(rowCopy));
                List<CudaPrefillGraphsTest.Run> runs = new ArrayList<>();
                for (int call = 0; call < calls; call++) {
                    runs.add(llavaRequest(model, fixture, call, plan));
                }
                byValue.add(runs);
            }
            for (int call = 0; call < calls; call++) {
                assertSameRun(name + " call " + call, byValue.get(0).get(call), byValue.get(1).get(call));
            }
        }
    }

    /** The fixture's prompt with image {@code call % 2} under {@code plan}, prefilled then decoded greedily. */
    private static CudaPrefillGraphsTest.Run llavaRequest(LlavaModel model, TwoImagePrompt fixture, int call,
                                                          PruningPlan plan) {
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), fixture.images().get(call % 2));
        try (PreparedPrompt prepared = model.prepare(fixture.prompt(), fixture.images().get(call % 2),
                pruning.visualHooks(), true)) {
            SessionOptions options = SessionOptions.of(prepared.inputIds().length + CudaPrefillGraphsTest.DECODE_STEPS + 1);
            return CudaPrefillGraphsTest.decodeRun(model.decoder(), options, prepared.embeddings(),
                    prepared.positions(), pruning.decoderHook(prepared), s -> 0);
        }
    }

    /**
     * One session: {@code first} tokens at 0.., then {@code second} more at the next positions (a
     * run that starts past 0), then the greedy decode steps.
     */
    private static CudaPrefillGraphsTest.Run twoPrefills(Decoder decoder, int first, int second) {
        int vocab = decoder.config().vocabSize();
        int steps = CudaPrefillGraphsTest.DECODE_STEPS;
        try (DecoderSession session = decoder.newSession(SessionOptions.of(256))) {
            prefill(decoder, session, first, 0);
            prefill(decoder, session, second, first);
            float[][] logits = new float[steps + 1][vocab];
            int[] tokens = new int[steps + 1];
            for (int step = 0; step <= steps; step++) {
                if (step > 0) {
                    session.decode(tokens[step - 1]);
                }
                session.copyLogits(logits[step]);
                tokens[step] = session.greedyToken();
            }
            return new CudaPrefillGraphsTest.Run(logits, tokens, session.length());
        }
    }

    private static void prefill(Decoder decoder, DecoderSession session, int rows, int start) {
        int[] ids = new int[rows];
        int[] positions = new int[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = ((start + i) * 29 + 3) % SyntheticDecoders.VOCAB;
            positions[i] = start + i;
        }
        try (Tensor embeddings = decoder.embed(ids)) {
            session.prefill(embeddings, positions, null);
        }
    }

    private static void assertSameRun(String label, CudaPrefillGraphsTest.Run gathered, CudaPrefillGraphsTest.Run copied) {
        for (int step = 0; step < gathered.logits().length; step++) {
            assertArrayEquals(gathered.logits()[step], copied.logits()[step], label + " step " + step + ": logits");
        }
        assertArrayEquals(gathered.tokens(), copied.tokens(), label + ": greedy tokens");
        System.out.println("GPU-PARITY rope-row-copy " + label + ": bit-identical to the gather");
    }
}
