package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the prefill small-kernel variants all on
 * ({@code -Dglimpse.cuda.ropeAppendVector=true}: the vectorised RoPE + KV cache append;
 * {@code -Dglimpse.cuda.attentionHalfOutput=true}: attention storing o_proj's 16-bit input itself)
 * against both off, on one CUDA backend: the bf16 LLaVA fixture end to end (prepare, prefill, 8 greedy
 * steps with HF's tokens fed back; its head dim 16 runs the vectorised RoPE, while attention declines the
 * 16-bit output, whose in-place cache kernels need D 64 or 128, and runs as before) and synthetic BF16 Llama (multi-head) and Qwen2 (grouped-query)
 * decoders at LLaVA-7B's prompt sizes (74 and 586 rows) and odd ones, each a prefill then two decode
 * steps. Both variants write the bits of the kernels they replace, so the greedy tokens must be the
 * same and the logits should be too; they are checked within {@value #ON_VS_OFF} of the largest logit
 * (a GEMM reading its 16-bit input from another buffer may, in principle, be given another cuBLASLt
 * algorithm), and each case prints whether they were bit-identical.
 */
class CudaPrefillSmallKernelsTest {

    /** Largest |on - off| logit difference over the largest |logit|. */
    private static final float ON_VS_OFF = 0.01f;
    private static final Map<String, String> ON = Map.of(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "true",
            CudaBackend.ATTENTION_HALF_OUTPUT_PROPERTY, "true");
    private static final Map<String, String> OFF = Map.of(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "false",
            CudaBackend.ATTENTION_HALF_OUTPUT_PROPERTY, "false");

    @TempDir
    Path dir;

    @Test
    void llavaFixtureGreedyStepsMatchWithTheVariantsOn() throws IOException {
        CudaSupport.requireCuda();
        String name = "llava-clip-llama-bf16";
        Path folder = DecoderFixture.folder(name);
        JsonNode c = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases").get(0);
        int[] hfGreedy = ints(c.get("greedy_ids"));
        try (VisionLanguageModel model = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            float[][] off = withProperties(OFF, () -> llavaSteps(model.llava(), c, folder, hfGreedy));
            float[][] on = withProperties(ON, () -> llavaSteps(model.llava(), c, folder, hfGreedy));
            assertSameGreedyAndNear(name, off, on);
        }
    }

    @ParameterizedTest(name = "{0} rows={1}")
    @CsvSource({"llama, 74", "llama, 586", "llama, 75", "qwen2, 74", "qwen2, 586", "qwen2, 587"})
    void promptSizedPrefillMatchesWithTheVariantsOn(String family, int rows) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 13, 1024);
        int[] ids = new int[rows + 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 41 + 3) % SyntheticDecoders.VOCAB;
        }
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            float[][] off = withProperties(OFF, () -> decoderSteps(backend, folder, ids));
            float[][] on = withProperties(ON, () -> decoderSteps(backend, folder, ids));
            assertSameGreedyAndNear(family + "-" + rows, off, on);
        }
    }

    private static void assertSameGreedyAndNear(String label, float[][] off, float[][] on) {
        for (int step = 0; step < off.length; step++) {
            float largest = 0;
            for (float v : off[step]) {
                largest = Math.max(largest, Math.abs(v));
            }
            float d = maxAbsDiff(on[step], off[step]) / Math.max(largest, 1e-6f);
            System.out.printf("GPU-PARITY prefill-small-kernels %s step %d: bit-identical %b, max|on-off| / max|off| %.3g%n",
                    label, step, Arrays.equals(on[step], off[step]), d);
            assertTrue(d <= ON_VS_OFF, label + " step " + step + ": variants on vs off logits differ by " + d);
            assertTrue(argmax(on[step]) == argmax(off[step]), label + " step " + step + ": greedy token");
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

    /** body's result with each property of values set, then each restored to its previous value (or its absence). */
    private static <T> T withProperties(Map<String, String> values, Supplier<T> body) {
        Map<String, String> previous = new HashMap<>();
        values.keySet().forEach(key -> previous.put(key, System.getProperty(key)));
        values.forEach(System::setProperty);
        try {
            return body.get();
        } finally {
            previous.forEach((key, value) -> {
                if (value == null) {
                    System.clearProperty(key);
                } else {
                    System.setProperty(key, value);
                }
            });
        }
    }
}
