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
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.gpu.CudaPrefillGraphsTest.Run;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only (skipped without CUDA): programmatic dependent launch of the prefill and vision kernels
 * ({@code -Dglimpse.cuda.pdlPrefill=true}, {@link CudaBackend#PDL_PREFILL_PROPERTY}) changes no bit of a
 * model's output. Synthetic BF16 Llama (multi-head) and Qwen2 (grouped-query) decoders at LLaVA-1.5-7B's
 * prefill sizes (74 and 586 rows) with prefill graphs on: with the property on, the first prefill of
 * each size runs op by op, the second is captured and the later ones replay it (the property is a
 * {@code glimpse.cuda.*} setting, so it is part of the graph key and the graphs captured with it off
 * are not reused), and every prefill's logits and three greedy decode steps equal those of the same
 * request with the property off and prefill graphs off, bit for bit. LLaVA fixtures (CLIP tower and
 * Llama decoder, BF16 and F32) under VTC-CLS at 8 tokens, each of two images in turn: the prepared
 * embeddings (the tower op by op on the first call per image, then captured and replayed) and the
 * prefill and decode logits equal those with the property off.
 */
class CudaPdlPrefillTest {

    @TempDir
    Path dir;

    @AfterEach
    void propertiesBack() {
        System.clearProperty(CudaBackend.PDL_PREFILL_PROPERTY);
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void pdlChangesNoBitOfEagerCapturedOrReplayedPrefills(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 29, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            int[] lengths = {74, 74, 74, 586, 586, 586};
            int[] held = {0, 1, 1, 1, 2, 2};
            SessionOptions options = SessionOptions.of(640);
            System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, "false");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            List<Run> off = new ArrayList<>();
            for (int r = 0; r < lengths.length; r++) {
                off.add(CudaPrefillGraphsTest.request(decoder, lengths[r], r, options, null, s -> 0));
            }
            System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, "true");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            for (int r = 0; r < lengths.length; r++) {
                int request = r;
                String label = family + " request " + r + " (" + lengths[r] + " rows)";
                Run on = CudaPrefillGraphsTest.request(decoder, lengths[r], r, options, null, s -> {
                    assertEquals(held[request], PrefillGraphProbe.graphsHeld(s), label
                            + ": graphs held after its prefill (0: op by op, then captured, then replayed)");
                    return 0;
                });
                assertSameRun(label, off.get(r), on);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama-bf16", "llava-clip-llama"})
    void pdlChangesNoBitOfTheLlavaTowerAndPrefill(String name) {
        CudaSupport.requireCuda();
        TwoImagePrompt fixture = TwoImagePrompt.of(name);
        PruningPlan plan = PruningPlan.parse("vtc-cls", TokenBudget.count(8));
        int calls = 4;
        try (VisionLanguageModel vlm = Glimpse.load(fixture.folder(), LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, "false");
            List<float[]> offEmbeddings = new ArrayList<>();
            List<Run> off = new ArrayList<>();
            for (int call = 0; call < calls; call++) {
                off.add(llavaRequest(model, fixture, call, plan, offEmbeddings));
            }
            System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, "true");
            List<float[]> onEmbeddings = new ArrayList<>();
            for (int call = 0; call < calls; call++) {
                String label = name + " call " + call + " (image " + call % 2 + ")";
                Run on = llavaRequest(model, fixture, call, plan, onEmbeddings);
                assertArrayEquals(offEmbeddings.get(call), onEmbeddings.get(call), label + ": prepared embeddings");
                assertSameRun(label, off.get(call), on);
            }
        }
    }

    /**
     * The fixture's prompt with image {@code call % 2}, pruned by {@code plan}: its prepared embeddings
     * (added to {@code embeddings}), then its prefill and greedy decode run.
     */
    private static Run llavaRequest(LlavaModel model, TwoImagePrompt fixture, int call, PruningPlan plan,
                                    List<float[]> embeddings) {
        RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), fixture.images().get(call % 2));
        try (PreparedPrompt prepared = model.prepare(fixture.prompt(), fixture.images().get(call % 2),
                pruning.visualHooks(), true)) {
            try (Tensor host = model.backend().download(prepared.embeddings())) {
                embeddings.add(host.toFloatArray());
            }
            SessionOptions options = SessionOptions.of(prepared.inputIds().length + CudaPrefillGraphsTest.DECODE_STEPS + 1);
            return CudaPrefillGraphsTest.decodeRun(model.decoder(), options, prepared.embeddings(), prepared.positions(),
                    pruning.decoderHook(prepared), s -> 0);
        }
    }

    private static void assertSameRun(String label, Run expected, Run actual) {
        for (int step = 0; step < expected.logits().length; step++) {
            assertArrayEquals(expected.logits()[step], actual.logits()[step], label + " step " + step + ": logits");
        }
        assertArrayEquals(expected.tokens(), actual.tokens(), label + ": greedy tokens");
        System.out.println("GPU-PARITY pdl-prefill " + label + ": bit-identical with pdlPrefill on and off");
    }
}
