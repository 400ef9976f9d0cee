package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.NormRowsVariant;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * GPU-only (skipped without CUDA): the LayerNorm / RMSNorm row kernels switched to the staged ones
 * ({@code -Dglimpse.cuda.normRows=staged}, {@link NormRowsVariant#STAGED}), or chosen by {@code auto} (the default),
 * leave a model's outputs bit for bit as the {@code v4} kernels give them, on one CUDA backend: the bf16 LLaVA fixture end to end (its CLIP
 * tower's LayerNorms and its decoder's RMSNorms; prepare, prefill, 8 greedy steps with HF's tokens fed back) and
 * synthetic BF16 Llama (multi-head) and Qwen2 (grouped-query) decoders at LLaVA-7B's prompt sizes (74 and 586
 * rows), each a prefill (graph-captured) then two decode steps. The kernels store the same bits, and every other
 * kernel and GEMM sees the same inputs in the same buffers, so the logits must be identical.
 */
class CudaNormRowsModelTest {

    @TempDir
    Path dir;

    @Test
    void llavaFixtureLogitsAreTheSameWithStagedNorms() throws IOException {
        CudaSupport.requireCuda();
        String name = "llava-clip-llama-bf16";
        Path folder = DecoderFixture.folder(name);
        JsonNode c = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases").get(0);
        int[] hfGreedy = ints(c.get("greedy_ids"));
        try (VisionLanguageModel model = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            float[][] v4 = withVariant(NormRowsVariant.V4, () -> llavaSteps(model.llava(), c, folder, hfGreedy));
            for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.STAGED, NormRowsVariant.AUTO}) {
                assertSameLogits(name, variant, v4, withVariant(variant, () -> llavaSteps(model.llava(), c, folder, hfGreedy)));
            }
        }
    }

    @ParameterizedTest(name = "{0} rows={1}")
    @CsvSource({"llama, 74", "llama, 586", "qwen2, 74", "qwen2, 586"})
    void promptSizedPrefillLogitsAreTheSameWithStagedNorms(String family, int rows) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 17, 1024);
        int[] ids = new int[rows + 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 43 + 7) % SyntheticDecoders.VOCAB;
        }
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            float[][] v4 = withVariant(NormRowsVariant.V4, () -> decoderSteps(backend, folder, ids));
            for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.STAGED, NormRowsVariant.AUTO}) {
                assertSameLogits(family + "-" + rows, variant, v4, withVariant(variant, () -> decoderSteps(backend, folder, ids)));
            }
        }
    }

    private static void assertSameLogits(String label, NormRowsVariant variant, float[][] v4, float[][] other) {
        for (int step = 0; step < v4.length; step++) {
            System.out.printf("GPU-PARITY norm-rows %s %s step %d: max|%s-v4| %.3g%n", label, variant.id(), step,
                    variant.id(), maxAbsDiff(other[step], v4[step]));
            assertArrayEquals(v4[step], other[step], label + " step " + step + ": logits with " + variant.id() + " vs v4 norms");
        }
    }

    /** Logits of every greedy step of the fixture case, HF's tokens fed back. */
    private static float[][] llavaSteps(LlavaModel model, JsonNode c, Path folder, int[] hfGreedy) {
        int vocab = model.config().text().vocabSize();
        float[][] logits = new float[hfGreedy.length][vocab];
        try (PreparedPrompt prompt = model.prepare(c.get("prompt").asText(), visualInput(c, folder),
                ProjectorInputHook.KEEP_ALL, true);
             DecoderSession session = model.decoder().newSession(
                     SessionOptions.of(prompt.inputIds().length + hfGreedy.length))) {
            session.prefill(prompt.embeddings(), prompt.positions(), null);
            for (int step = 0; step < hfGreedy.length; step++) {
                session.copyLogits(logits[step]);
                if (step + 1 < hfGreedy.length) {
                    session.decode(hfGreedy[step]);
                }
            }
        }
        return logits;
    }

    /** Logits after prefilling all ids but the last two, then after decoding each of those. */
    private static float[][] decoderSteps(Backend backend, Path folder, int[] ids) {
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(ids.length + 8))) {
            float[][] logits = new float[3][decoder.config().vocabSize()];
            session.prefill(Arrays.copyOf(ids, ids.length - 2));
            session.copyLogits(logits[0]);
            for (int i = 1; i <= 2; i++) {
                session.decode(ids[ids.length - 3 + i]);
                session.copyLogits(logits[i]);
            }
            return logits;
        }
    }

    private static VisualInput visualInput(JsonNode c, Path folder) {
        List<RgbImage> images = new ArrayList<>();
        for (JsonNode f : c.get("images")) {
            images.add(PngFixtures.decode(folder.resolve(f.asText())));
        }
        return new VisualInput.Images(images);
    }

    /** body's result under {@code -Dglimpse.cuda.normRows=<variant>}, the property restored after. */
    private static <T> T withVariant(NormRowsVariant variant, Supplier<T> body) {
        String previous = System.getProperty(NormRowsVariant.PROPERTY);
        System.setProperty(NormRowsVariant.PROPERTY, variant.id());
        try {
            return body.get();
        } finally {
            if (previous == null) {
                System.clearProperty(NormRowsVariant.PROPERTY);
            } else {
                System.setProperty(NormRowsVariant.PROPERTY, previous);
            }
        }
    }
}
