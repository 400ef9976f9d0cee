package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
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
            float[][] off = withProperties(OFF, () -> LogitSteps.llavaSteps(model.llava(), c, folder, hfGreedy));
            float[][] on = withProperties(ON, () -> LogitSteps.llavaSteps(model.llava(), c, folder, hfGreedy));
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
            float[][] off = withProperties(OFF, () -> LogitSteps.decoderSteps(backend, folder, ids));
            float[][] on = withProperties(ON, () -> LogitSteps.decoderSteps(backend, folder, ids));
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
